"""The customer's words against a contract's action words: opposite verbs, negations, accents, three languages.

Sentences here are development examples; the held-out measurement is
tests/tools/test_opposite_actions.py on tests/data/heldout_actions.jsonl.
"""

from __future__ import annotations

import pytest

from loopwright.samples.bank.tools.words import CANCEL_DISPUTE, DISPUTE, FREEZE, UNFREEZE
from loopwright.tools import get_tool
from loopwright.tools.words import check_words, read_words


@pytest.mark.parametrize("text,reading", [
    ("freeze card ending 5212", "affirmed"),
    ("Could you lock my card 9662 today", "affirmed"),
    ("my card was stolen on the bus", "affirmed"),
    ("unfreeze card ending 5212", "contradicted"),
    ("un-freeze 5212", "contradicted"),
    ("take the freeze off card 9662", "contradicted"),
    ("I froze it last week, undo that", "contradicted"),  # the past tense describes, "undo" asks
    ("don't freeze card 5212", "negated"),
    ("please do not lock 9662", "negated"),
    ("I never wanted to block it", "negated"),
    ("don't freeze it, unfreeze it", "contradicted"),
    ("freeze it. no wait, don't freeze it", "unclear"),
    ("what happens to card 5212", "unclear"),
    ("I want to freeze card 5212", "affirmed"),  # "want" ends in "nt" and is no negation
    # Spanish, with and without accents
    ("congela la 5212", "affirmed"),
    ("bloqueala ya", "affirmed"),
    ("descongela la 5212", "contradicted"),
    ("desbloquéala por favor", "contradicted"),
    ("mi tarjeta está congelada", "unclear"),  # a state, not a request
    ("no la congeles", "negated"),
    # Vietnamese, with and without diacritics
    ("khóa thẻ 5212 giúp tôi", "affirmed"),
    ("khoa the 5212", "affirmed"),
    ("mở khóa thẻ 5212", "contradicted"),
    ("mo khoa the 5212", "contradicted"),
    ("thẻ đang bị khóa", "unclear"),  # a state
    ("đừng khóa thẻ", "negated"),
    ("khóa thẻ được không?", "affirmed"),  # a trailing "không" asks a question
])
def test_freeze_against_unfreeze(text, reading):
    assert read_words(text, FREEZE, UNFREEZE) == reading


@pytest.mark.parametrize("text,reading", [
    ("please dispute txn_0261", "affirmed"),
    ("impugna el cargo txn_0261", "affirmed"),
    ("khiếu nại giao dịch txn_0261", "affirmed"),
    ("cancel the dispute on txn_0261", "contradicted"),
    ("retira la disputa de txn_0261", "contradicted"),
    ("hủy khiếu nại txn_0261", "contradicted"),
    ("I no longer want to dispute txn_0261", "negated"),
])
def test_dispute_against_cancelling_it(text, reading):
    assert read_words(text, DISPUTE, CANCEL_DISPUTE) == reading


def test_the_contract_declares_its_opposite_and_words():
    freeze, unfreeze, dispute = get_tool("freeze_card"), get_tool("unfreeze_card"), get_tool("open_dispute")
    assert (freeze.opposite, unfreeze.opposite, dispute.opposite) == ("unfreeze_card", "freeze_card", "cancel_dispute")
    assert set(freeze.words) == set(unfreeze.words) == set(dispute.words) == {"en", "es", "vi"}
    # The opposite tool's words stand in for opposite_words when a contract leaves them out.
    check = check_words(unfreeze, "freeze card ending 5212", freeze)
    assert check.reading == "contradicted"
    assert "ask to freeze card, not to unfreeze card" in check.verdict().reason
    assert check_words(get_tool("escalate_to_human"), "freeze it") is None  # no words declared: no check
