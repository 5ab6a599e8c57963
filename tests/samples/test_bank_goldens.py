"""The golden suite covers every intent, language and safety case, and agrees with the corpus."""

import json
import re
from collections import Counter

import frontmatter
import pytest

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.actions import dispute_allowed

KEYS = {"id", "input", "language", "tenant", "customer_id", "intent", "critical", "must_cite", "must_contain",
        "must_not_contain", "must_decline", "tool", "no_pii_out", "latency_ms_max", "tags"}


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def goldens() -> list[dict]:
    return _jsonl("goldens.jsonl")


@pytest.fixture(scope="module")
def docs() -> dict[str, frontmatter.Post]:
    return {p.stem: frontmatter.load(p) for p in (DATA_DIR / "docs").glob("*.md")}


@pytest.fixture(scope="module")
def owner_of_last4() -> dict[str, str]:
    return {k["last4"]: k["customer_id"] for k in _jsonl("cards.jsonl")}


def test_shape_and_coverage(goldens: list[dict]) -> None:
    assert len(goldens) >= 150
    assert [g["id"] for g in goldens] == [f"g{i:04d}" for i in range(1, len(goldens) + 1)]
    intents = {i["name"] for i in json.loads((DATA_DIR / "intents.json").read_text(encoding="utf-8"))}
    customers = {c["id"] for c in _jsonl("customers.jsonl")}
    for g in goldens:
        assert set(g) == KEYS, g["id"]
        assert g["intent"] in intents and g["language"] in ("en", "es", "vi")
        assert g["tenant"] in ("larkspur-retail", "larkspur-staff")
        assert g["customer_id"] is None or g["customer_id"] in customers
        assert g["no_pii_out"] is True and g["latency_ms_max"] == 2000
        if g["tool"] is not None:
            assert set(g["tool"]) == {"name", "expect"} and g["tool"]["expect"] in ("allowed", "blocked")
    assert {g["intent"] for g in goldens} == intents
    by_language = Counter(g["language"] for g in goldens)
    assert by_language["es"] >= 15 and by_language["vi"] >= 15
    assert {g["intent"] for g in goldens if g["language"] == "es"} >= {"flexpay", "savings_rates", "card_freeze",
                                                                       "dispute_initiation"}


def test_citations_hold_the_facts(goldens: list[dict], docs: dict[str, frontmatter.Post]) -> None:
    for g in goldens:
        assert set(g["must_cite"]) <= set(docs), g["id"]
        if g["must_decline"]:
            assert g["must_contain"] == [], g["id"]
            continue
        # Any one citation suffices, so every cited document must hold every required fact...
        for doc_id in g["must_cite"]:
            for fact in g["must_contain"]:
                assert fact in docs[doc_id].content, (g["id"], doc_id, fact)
            # ...and none of the forbidden ones, or a grounded answer could not pass.
            for bad in g["must_not_contain"]:
                assert bad not in docs[doc_id].content, (g["id"], doc_id, bad)
        if g["must_contain"]:
            assert g["must_cite"], g["id"]


def test_flexpay_and_savings_facts(goldens: list[dict]) -> None:
    answered = [g for g in goldens if not g["must_decline"]]
    flexpay_facts = {f for g in answered if g["intent"] == "flexpay" for f in g["must_contain"]}
    assert {"$100", "$5,000", "0% APR", "9.9%", "$15", "4 active plans", "no setup fee"} <= flexpay_facts
    assert sum(g["intent"] == "flexpay" for g in answered) >= 25
    savings = [g for g in answered if g["intent"] == "savings_rates"]
    assert {"3.80%", "4.10%", "1.00%", "$10,000"} <= {f for g in savings for f in g["must_contain"]}
    assert all("2.25%" in g["must_not_contain"] for g in savings)
    assert all(g["critical"] for g in goldens if g["intent"] in ("flexpay", "savings_rates"))


def test_declines_on_stale_or_uncertified_evidence(goldens: list[dict], docs: dict[str, frontmatter.Post]) -> None:
    stale = [g for g in goldens if "stale" in g["tags"]]
    assert len(stale) >= 3 and all(g["must_decline"] and g["must_not_contain"] for g in stale)
    # Each forbidden figure is stated only by a retired or old document.
    for g in stale + [g for g in goldens if "uncertified" in g["tags"]]:
        sources = [p for p in docs.values() if any(bad in p.content for bad in g["must_not_contain"])]
        assert sources, g["id"]
        assert all(p["retired_date"] or not p["certified"] or p["effective_date"].year == 2025 for p in sources)


def test_tool_goldens_match_ownership(goldens: list[dict], owner_of_last4: dict[str, str]) -> None:
    txns = {t["id"]: t for t in _jsonl("transactions.jsonl")}
    card_owner = {k["id"]: k["customer_id"] for k in _jsonl("cards.jsonl")}
    tools = [g for g in goldens if g["tool"] and g["tool"]["name"] != "escalate_to_human"]
    assert all(g["critical"] for g in tools)
    expectations = Counter()
    for g in tools:
        owned = True
        ids = re.findall(r"txn_\d{4}", g["input"])
        if g["tool"]["name"] == "privacy_request":  # only one's own data: naming any other customer is refused
            owned = all(named == g["customer_id"] for named in re.findall(r"cus_\d{3}", g["input"]))
        elif ids:
            txn = txns[ids[0]]
            owned = card_owner[txn["card_id"]] == g["customer_id"] and dispute_allowed(txn)
        else:
            last4 = re.findall(r"\b\d{4}\b", g["input"])
            owned = owner_of_last4[last4[0]] == g["customer_id"]
        assert g["tool"]["expect"] == ("allowed" if owned else "blocked"), g["id"]
        expectations[(g["tool"]["name"], g["tool"]["expect"])] += 1
    for name in ("freeze_card", "unfreeze_card", "open_dispute", "privacy_request"):
        assert expectations[(name, "allowed")] >= 3 and expectations[(name, "blocked")] >= 3, name


def test_pii_goldens_forbid_echoing_the_datum(goldens: list[dict]) -> None:
    pii = [g for g in goldens if "pii" in g["tags"]]
    assert {k for g in pii for k in g["tags"]} >= {"pan", "phone", "email", "ssn"}
    assert {g["language"] for g in pii} == {"en", "es", "vi"}
    for g in pii:
        assert g["critical"]
        assert any(bad in g["input"] for bad in g["must_not_contain"]), g["id"]


def test_staff_knowledge_does_not_reach_retail(goldens: list[dict], docs: dict[str, frontmatter.Post]) -> None:
    staff_text = "\n".join(p.content for p in docs.values() if p["audience"] == ["staff"])
    public_text = "\n".join(p.content for p in docs.values() if p["audience"] == ["retail"])
    leaks = [g for g in goldens if "leak" in g["tags"]]
    assert len(leaks) >= 6
    for g in leaks:
        # The property is the leak, not a decline: retail retrieval cannot see that the answer is staff-only.
        assert g["tenant"] == "larkspur-retail" and g["critical"] and g["must_not_contain"]
        assert all(s in staff_text and s not in public_text for s in g["must_not_contain"]), g["id"]
    answered = [g for g in goldens if g["tenant"] == "larkspur-staff" and "staff" in g["tags"]]
    assert answered and all(docs[g["must_cite"][0]]["audience"] == ["staff"] for g in answered)
