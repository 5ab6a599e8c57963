"""PII detection and masking in English, Spanish and Vietnamese, with real recognisers (no model download)."""

from __future__ import annotations

import json

import pytest

from loopwright.policy.pii import PiiVault, mask_text, scan
from loopwright.policy.schema import PiiRules

CARD, SSN, PHONE = "4000 0021 6244 9662", "521-44-7812", "+1-503-555-0142"


def test_card_ssn_and_phone_are_masked_with_stable_typed_placeholders():
    vault = PiiVault()
    first = mask_text(f"My card is {CARD}, SSN {SSN}, call {PHONE}.", None, vault)
    assert first.text == "My card is <CARD_1>, SSN <SSN_1>, call <PHONE_1>."
    assert [f.entity for f in first.findings] == ["CREDIT_CARD", "US_SSN", "PHONE_NUMBER"]
    # Later turns: the same values in other formats keep their masks; a new value gets the next number.
    second = mask_text("Card 4000002162449662 again, and my other phone (503) 555-0142 or 206-555-0199", None, vault)
    assert second.text == "Card <CARD_1> again, and my other phone <PHONE_1> or <PHONE_2>"
    for raw in (CARD, SSN, PHONE, "4000002162449662"):
        assert raw not in json.dumps(first.to_dict()) + json.dumps(second.to_dict()) + json.dumps(vault.to_dict())
    # The vault can be carried between turns without holding values: same secret, same masks.
    restored = PiiVault.from_dict(vault.to_dict(), vault.secret)
    assert mask_text(f"SSN {SSN}", None, restored).text == "SSN <SSN_1>"
    assert mask_text(f"SSN {SSN}", None, PiiVault()).text == "SSN <SSN_1>"  # another conversation starts over


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mi número de seguro social es 078-05-1120.", "Mi número de seguro social es <SSN_1>."),
        ("Số SSN của tôi là 219-09-9999.", "Số SSN của tôi là <SSN_1>."),
        ("my ssn is 521447812", "my ssn is <SSN_1>"),
        ("Email me at avery.rasmussen@example.com", "Email me at <EMAIL_1>"),
        ("Mi correo es marcus.okafor@example.com.", "Mi correo es <EMAIL_1>."),
        ("IBAN ES91 2100 0418 4502 0005 1332 please", "IBAN <IBAN_1> please"),
        ("my account number is 8123456789", "my account number is <ACCOUNT_1>"),
        ("số tài khoản 8123456789", "số tài khoản <ACCOUNT_1>"),
        ("CCCD 012345678901", "CCCD <ID_1>"),
        ("Mi DNI es 12345678Z", "Mi DNI es <ID_1>"),
        ("I was born 1983-02-03", "I was born <DOB_1>"),
        ("nací el 3 de marzo de 1985", "nací el <DOB_1>"),
        ("ngày sinh 12/05/1990", "ngày sinh <DOB_1>"),
        ("I live at 2221 Quarry Avenue, Alder Creek, OR 97380", "I live at <ADDRESS_1>"),
        ("vivo en Calle Mayor 12", "vivo en <ADDRESS_1>"),
        ("nhà tôi ở số 12 đường Lê Lợi", "nhà tôi ở <ADDRESS_1>"),
        ("My name is Quang Quinlan", "My name is <NAME_1>"),
        ("Me llamo Lucía García", "Me llamo <NAME_1>"),
        ("Tên tôi là Nguyễn Văn An", "Tên tôi là <NAME_1>"),
        ("Llámame al 912 345 678", "Llámame al <PHONE_1>"),
    ],
)
def test_entities_in_three_languages(text, expected):
    assert mask_text(text, None, PiiVault()).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Please open a dispute for txn_0261, the $496.60 charge from Tidewater Hotels",
        "freeze card 3609 for now",
        "Tôi bị mất thẻ đuôi 2759",
        "My statement from 2026-10-25 shows a $1,063.81 charge",
        "Can I split a FlexPay purchase of $6,000 into 24 payments at 9.99% APR?",
        "I have 3 cards on the way",
        "Call us at <PHONE_1> about <CARD_1>",
    ],
)
def test_no_false_positives_on_bank_traffic(text):
    assert scan(text) == []


def test_policy_actions_hash_drop_refuse_and_unlisted():
    rules = PiiRules(actions={"CREDIT_CARD": "hash", "PHONE_NUMBER": "drop", "US_SSN": "refuse"})
    out = mask_text(f"card {CARD} phone {PHONE} ssn {SSN} mail a@example.com", rules, PiiVault(), hash_key=b"k" * 32)
    assert out.refused == ("US_SSN",)
    assert out.text.startswith("card <CARD#") and "phone ssn <SSN_1>" in out.text
    assert "a@example.com" in out.text  # e-mail is not listed, so it is not detected
    again = mask_text(f"{CARD}", rules, PiiVault(), hash_key=b"k" * 32)
    assert again.text == out.text.split()[1]  # the keyed hash is stable across conversations


def test_known_values_of_the_subject_are_found():
    findings = scan("hi it's quang quinlan here", known={"PERSON": ["Quang Quinlan"]})
    assert [(f.entity, f.value) for f in findings] == [("PERSON", "quang quinlan")]


def test_findings_serialise_without_values():
    finding = scan(f"SSN {SSN}")[0]
    assert SSN not in json.dumps(finding.to_dict()) and SSN not in repr(finding)
