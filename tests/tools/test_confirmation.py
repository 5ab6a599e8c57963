"""Opposite actions never run on a classifier's word, and a confirmation binds to one exact call (issue 14, item 2).

Through `loopwright.tools.proposals` (what the gateway calls) on SQLite and PostgreSQL:
triage's tool is simulated wrong on purpose, as the adversarial test found it
("freeze card ending 5212" -> card_unfreeze, 0.952).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from loopwright.samples.bank.tools.schema import BankCardRow
from loopwright.tools.proposals import confirm, propose
from loopwright.tools.schema import ToolConfirmationRow


def _status(ws, last4):
    with ws.session() as s:
        return s.scalars(sa.select(BankCardRow.status).where(BankCardRow.last4 == last4)).one()


def _set(ws, last4, status):
    with ws.write() as s:
        s.execute(sa.update(BankCardRow).where(BankCardRow.last4 == last4).values(status=status))


def test_freeze_words_classified_as_unfreeze_never_unfreeze(book, policy, customer):
    me = customer("cus_001")
    _set(book, "5212", "frozen")  # the state in which a wrong unfreeze would act
    proposal = propose(book, "unfreeze_card", "freeze card ending 5212", me, policy=policy, conversation="c1")
    # The words ask for the opposite of what triage said: that one is proposed; the card is already frozen.
    assert proposal.tool == "freeze_card" and proposal.result.refusal.action == "conflict"
    assert _status(book, "5212") == "frozen"
    _set(book, "5212", "active")
    proposal = propose(book, "unfreeze_card", "freeze card ending 5212", me, policy=policy, conversation="c1")
    assert proposal.tool == "freeze_card" and proposal.result.status == "needs_confirmation"  # only asked about
    assert proposal.result.confirmation["action"] == "freeze card"
    assert "triage said unfreeze card" in proposal.result.confirmation["reason"]
    assert _status(book, "5212") == "active"


def test_a_clear_ask_acts_and_an_unclear_one_asks(book, policy, customer):
    me = customer("cus_001")
    done = propose(book, "freeze_card", "please freeze card ending 5212", me, policy=policy, conversation="c1")
    assert done.result.status == "done" and _status(book, "5212") == "frozen"
    unclear = propose(book, "unfreeze_card", "what about card 5212", me, policy=policy, conversation="c1")
    assert unclear.result.status == "needs_confirmation" and _status(book, "5212") == "frozen"
    negated = propose(book, "unfreeze_card", "do not unfreeze card 5212", me, policy=policy, conversation="c1")
    assert negated.result.status == "refused" and negated.result.refusal.name == "action_words"
    assert _status(book, "5212") == "frozen"


def test_the_token_confirms_that_call_once(book, policy, customer):
    me = customer("cus_001")
    _set(book, "5212", "frozen")
    asked = propose(book, "unfreeze_card", "I found card 5212, unlock it", me, policy=policy, conversation="c1")
    assert asked.result.status == "needs_confirmation"  # the policy confirms every unfreeze
    token = asked.result.confirmation["token"]
    # Another caller, another conversation: refused, and the token is not spent.
    stranger = confirm(book, token, customer("cus_002"), policy=policy, conversation="c1")
    assert stranger.result.status == "refused" and stranger.result.refusal.name == "ownership"
    agent = confirm(book, token, customer("cus_001", role="agent"), policy=policy, conversation="c1")
    assert agent.result.status == "refused" and "another caller" in agent.result.refusal.reason
    elsewhere = confirm(book, token, me, policy=policy, conversation="c2")
    assert elsewhere.result.status == "refused" and _status(book, "5212") == "frozen"
    done = confirm(book, token, me, policy=policy, conversation="c1")
    assert done.result.status == "done" and done.tool == "unfreeze_card" and _status(book, "5212") == "active"
    again = confirm(book, token, me, policy=policy, conversation="c1")
    assert again.result.status == "refused" and "already used" in again.result.refusal.reason
    assert confirm(book, "lwc_made-up", me, policy=policy, conversation="c1").result.status == "refused"
    with book.session() as s:  # only the digest is stored
        assert token not in {r.token_digest for r in s.scalars(sa.select(ToolConfirmationRow))}


def test_an_expired_token_confirms_nothing(book, policy, customer):
    me = customer("cus_001")
    _set(book, "5212", "frozen")
    token = propose(book, "unfreeze_card", "unfreeze 5212", me, policy=policy, conversation="c1").result.confirmation["token"]
    with book.write() as s:
        s.execute(sa.update(ToolConfirmationRow).values(expires_at="2000-01-01T00:00:00.000000Z"))
    late = confirm(book, token, me, policy=policy, conversation="c1")
    assert late.result.status == "refused" and "expired" in late.result.refusal.reason
    assert _status(book, "5212") == "frozen"


def test_a_token_binds_its_arguments(book, policy, customer):
    from loopwright.tools import execute_tool

    me = customer("cus_001")
    _set(book, "5212", "frozen")
    _set(book, "9662", "frozen")
    token = propose(book, "unfreeze_card", "unfreeze 5212", me, policy=policy, conversation="c1").result.confirmation["token"]
    for tool, args in (("unfreeze_card", {"last4": "9662"}), ("freeze_card", {"last4": "5212"})):
        result = execute_tool(book, tool, args, me, policy=policy, confirm_token=token, conversation="c1")
        assert result.status == "refused" and "another action" in result.refusal.reason
    assert (_status(book, "5212"), _status(book, "9662")) == ("frozen", "frozen")


@pytest.mark.parametrize("text", ["cancel my dispute on {txn}", "I don't want to dispute {txn} any more"])
def test_cancelling_a_dispute_never_opens_one(book, policy, customer, text):
    from loopwright.samples.bank.tools.schema import BankDisputeRow

    me = customer("cus_001")
    with book.session() as s:
        txn = s.execute(sa.text(
            "SELECT t.id FROM bank_transactions t JOIN bank_cards c ON c.id = t.card_id "
            "WHERE c.customer_id = 'cus_001' ORDER BY t.statement_date DESC LIMIT 1")).scalar()
    result = propose(book, "open_dispute", text.format(txn=txn), me, policy=policy, conversation="c1").result
    assert result.status == "refused" and result.refusal.name == "action_words"
    with book.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(BankDisputeRow)) == 0
