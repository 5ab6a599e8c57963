"""The bank tools through the executor, on SQLite and PostgreSQL: ownership, idempotency, rules, typed errors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from loopwright.errors import ConflictError, NotFound
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.samples.bank import DATA_DIR
from loopwright.store.schema import ReceiptRow
from loopwright.tools import ToolArgumentsError, execute_tool
from loopwright.samples.bank.tools.schema import BankCardRow, BankDisputeRow, BankEscalationRow
from loopwright.tools.schema import ToolCallRow


def _jsonl(name):
    return [json.loads(line) for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines() if line.strip()]


CARDS = _jsonl("cards.jsonl")
TXNS = _jsonl("transactions.jsonl")
OWNER = {c["id"]: c["customer_id"] for c in CARDS}


def _card_of(customer_id):
    return next(c for c in CARDS if c["customer_id"] == customer_id)


def _txn(customer_id, *, min_cents=0, max_cents=10**9, newest=True, before=None):
    rows = [t for t in TXNS if OWNER[t["card_id"]] == customer_id and min_cents < t["amount_cents"] <= max_cents]
    if before is not None:
        rows = [t for t in rows if date.fromisoformat(t["statement_date"]) < before]
    rows.sort(key=lambda t: t["statement_date"])
    return rows[-1] if newest else rows[0]


def _state(ws):
    """Everything a tool could change: card statuses, disputes, escalations, tool calls, receipts."""
    with ws.session() as s:
        return (
            sorted(s.execute(sa.select(BankCardRow.id, BankCardRow.status)).all()),
            s.scalar(sa.select(sa.func.count()).select_from(BankDisputeRow)),
            s.scalar(sa.select(sa.func.count()).select_from(BankEscalationRow)),
            s.scalar(sa.select(sa.func.count()).select_from(ToolCallRow)),
            s.scalar(sa.select(sa.func.count()).select_from(ReceiptRow)),
        )


def _status(ws, card_id):
    with ws.session() as s:
        return s.get(BankCardRow, card_id).status


def test_freezing_another_customers_card_is_refused_without_any_change(book, policy, customer):
    mine, theirs = _card_of("cus_001"), _card_of("cus_002")
    before = _state(book)
    result = execute_tool(book, "freeze_card", {"last4": theirs["last4"]}, customer("cus_001"), policy=policy,
                          idempotency_key="k1")
    assert result.status == "refused" and result.receipt is None
    refusal = result.refusal
    assert (refusal.name, refusal.rule, refusal.action) == ("ownership", "tools.ownership", "refuse")
    assert "belongs to the caller" in refusal.reason
    assert _state(book) == before
    # A card that does not exist gets the very same answer, so refusals do not reveal whose cards exist.
    missing = execute_tool(book, "freeze_card", {"card_id": "card_999999"}, customer("cus_001"), policy=policy)
    assert missing.refusal.reason == refusal.reason
    assert _status(book, mine["id"]) == "active"


def test_freezing_own_card_acts_once_per_idempotency_key(book, policy, customer):
    card = _card_of("cus_001")
    first = execute_tool(book, "freeze_card", {"last4": card["last4"]}, customer("cus_001"), policy=policy,
                         idempotency_key="req-1")
    assert first.status == "done" and not first.replayed
    assert first.output["status"] == "frozen" and first.ticket.startswith("tk_")
    assert _status(book, card["id"]) == "frozen"
    receipt = first.receipt
    assert receipt.action == "tool.freeze_card" and receipt.subject == f"ticket/{first.ticket}"
    assert receipt.before == {"card_id": card["id"], "status": "active"}
    assert receipt.after == {"card_id": card["id"], "status": "frozen"}
    assert receipt.details["inputs"] == {"card_id": None, "last4": card["last4"]}
    assert book.signer.verify(receipt.digest, receipt.signature)
    state = _state(book)

    again = execute_tool(book, "freeze_card", {"last4": card["last4"]}, customer("cus_001"), policy=policy,
                         idempotency_key="req-1")
    assert again.replayed and again.status == "done"
    assert again.receipt.id == receipt.id and again.ticket == first.ticket and again.output == first.output
    assert _state(book) == state
    # A new request (new key) on a frozen card is refused by the tool's precondition.
    fresh = execute_tool(book, "freeze_card", {"last4": card["last4"]}, customer("cus_001"), policy=policy,
                         idempotency_key="req-2")
    assert fresh.status == "refused" and fresh.refusal.rule == "tools.freeze_card.active_only"
    assert _state(book) == state
    with book.session() as s:
        assert verify_chain(s, book).ok


def test_an_idempotency_key_reused_for_other_arguments_is_a_conflict(book, policy, customer):
    cards = [c for c in CARDS if c["customer_id"] == "cus_001"]
    assert len(cards) == 2, "the sample's cus_001 holds two cards"
    execute_tool(book, "freeze_card", {"card_id": cards[0]["id"]}, customer("cus_001"), policy=policy, idempotency_key="k")
    state = _state(book)
    with pytest.raises(ConflictError, match="idempotency key already used"):
        execute_tool(book, "freeze_card", {"card_id": cards[1]["id"]}, customer("cus_001"), policy=policy,
                     idempotency_key="k")
    assert _state(book) == state


@pytest.mark.parametrize(
    "arguments, where",
    [
        ({}, "give exactly one of card_id or last4"),
        ({"last4": 9662}, "last4"),
        ({"last4": "96620"}, "last4"),
        ({"card_id": "card_001", "last4": "9662"}, "exactly one"),
        ({"last4": "9662", "customer_id": "cus_002"}, "customer_id"),
        ({"last4": "9662", "confirmed": True}, "confirmed"),
        ("{not json", "not JSON"),
        ('["last4"]', "JSON object"),
    ],
)
def test_malformed_arguments_raise_a_typed_error_and_change_nothing(book, policy, customer, arguments, where):
    before = _state(book)
    with pytest.raises(ToolArgumentsError, match=where) as info:
        execute_tool(book, "freeze_card", arguments, customer("cus_001"), policy=policy, idempotency_key="x")
    assert info.value.tool == "freeze_card" and info.value.errors
    assert info.value.one_line().startswith("tool freeze_card: invalid argument")
    assert _state(book) == before


def test_an_unknown_tool_is_not_found(book, policy, customer):
    with pytest.raises(NotFound, match="no tool 'transfer_funds'"):
        execute_tool(book, "transfer_funds", {}, customer("cus_001"), policy=policy)


def test_role_permissions_come_from_the_policy(book, policy, customer):
    card = _card_of("cus_003")
    before = _state(book)
    admin = customer("staff_1", role="admin", tenant="larkspur-staff")
    refused = execute_tool(book, "open_dispute", {"transaction_id": _txn("cus_003")["id"]}, admin, policy=policy)
    assert refused.refusal.name == "permission" and refused.refusal.rule == "tools.roles.admin.tools"
    stranger = customer("cus_003", role="auditor")
    assert execute_tool(book, "freeze_card", {"last4": card["last4"]}, stranger, policy=policy).refusal.rule == (
        "tools.freeze_card.roles"
    )
    no_scope = customer("cus_003")
    no_scope = type(no_scope)(no_scope.tenant, no_scope.role, (), no_scope.subject)
    assert execute_tool(book, "freeze_card", {"last4": card["last4"]}, no_scope, policy=policy).refusal.name == "scopes"
    assert _state(book) == before
    # An agent acts for retail customers (the policy's acts_for), and the receipt names the customer.
    agent = customer("agent_7", role="agent", tenant="larkspur-staff")
    done = execute_tool(book, "freeze_card", {"last4": card["last4"]}, agent, policy=policy)
    assert done.status == "done" and done.receipt.details["customer"] == "cus_003"


def test_open_dispute_rules(book, policy, customer):
    me = customer("cus_001")
    today = policy.tools.as_of
    big = _txn("cus_001", min_cents=2500)
    args = {"transaction_id": big["id"], "category": "not_received", "reason": "Call me on +1-503-555-0142"}
    before = _state(book)
    pending = execute_tool(book, "open_dispute", args, me, policy=policy)
    assert pending.status == "needs_confirmation" and pending.refusal.action == "confirm"
    assert "+1-503-555-0142" not in json.dumps(pending.to_dict())
    assert _state(book) == before

    done = execute_tool(book, "open_dispute", args, me, policy=policy, confirmed=True)
    assert done.status == "done"
    assert done.output["provisional_credit_cents"] == big["amount_cents"] and "provisional credit" in done.output["message"]
    assert done.output["deadline"] == (date.fromisoformat(big["statement_date"]) + timedelta(days=60)).isoformat()
    assert done.receipt.details["inputs"]["reason"] == "Call me on <PHONE_1>"
    with book.session() as s:
        assert s.scalars(sa.select(BankDisputeRow.reason)).one() == "Call me on <PHONE_1>"

    # Asking again is the same dispute (its natural idempotency key), not a second one.
    again = execute_tool(book, "open_dispute", args, me, policy=policy, confirmed=True)
    assert again.replayed and again.receipt.id == done.receipt.id
    reworded = execute_tool(book, "open_dispute", {**args, "category": "other", "reason": "never arrived, again"}, me,
                            policy=policy, confirmed=True)
    assert reworded.replayed and reworded.receipt.id == done.receipt.id  # in other words, still the same dispute
    # Another key on the same transaction meets the one-open-dispute rule.
    other = execute_tool(book, "open_dispute", args, me, policy=policy, confirmed=True, idempotency_key="different")
    assert other.refusal.rule == "tools.open_dispute.one_open_per_transaction"

    small = _txn("cus_001", max_cents=2500)
    if date.fromisoformat(small["statement_date"]) >= today - timedelta(days=60):
        ok = execute_tool(book, "open_dispute", {"transaction_id": small["id"]}, me, policy=policy, confirmed=True)
        assert ok.output["provisional_credit_cents"] == 0

    old = _txn("cus_001", newest=False, before=today - timedelta(days=60))
    late = execute_tool(book, "open_dispute", {"transaction_id": old["id"]}, me, policy=policy, confirmed=True)
    assert late.status == "refused" and late.refusal.rule == "tools.settings.open_dispute.window_days"
    assert "within 60 days of the statement date" in late.refusal.reason

    theirs = _txn("cus_002")
    refused = execute_tool(book, "open_dispute", {"transaction_id": theirs["id"]}, me, policy=policy, confirmed=True)
    assert refused.refusal.name == "ownership"
    with pytest.raises(ToolArgumentsError, match="transaction_id"):
        execute_tool(book, "open_dispute", {"category": "duplicate"}, me, policy=policy, confirmed=True)


def test_escalation_and_unfreeze_confirmation(book, policy, customer):
    card = _card_of("cus_004")
    me = customer("cus_004")
    escalated = execute_tool(book, "escalate_to_human", {"reason": "my SSN 521-44-7812 was stolen", "priority": "urgent"},
                             me, policy=policy)
    assert escalated.status == "done" and "15 minutes" in escalated.output["message"]
    with book.session() as s:
        assert s.get(BankEscalationRow, escalated.ticket).reason == "my SSN <SSN_1> was stolen"
    assert execute_tool(book, "escalate_to_human", {"reason": "help"}, customer(None), policy=policy).refusal.name == (
        "escalation"
    )
    execute_tool(book, "freeze_card", {"last4": card["last4"]}, me, policy=policy)
    waiting = execute_tool(book, "unfreeze_card", {"last4": card["last4"]}, me, policy=policy)
    assert waiting.status == "needs_confirmation" and _status(book, card["id"]) == "frozen"
    done = execute_tool(book, "unfreeze_card", {"last4": card["last4"]}, me, policy=policy, confirmed=True)
    assert done.status == "done" and _status(book, card["id"]) == "active"
    with book.session() as s:
        actions = [r.action for r in list_receipts(s) if r.action.startswith("tool.")]
        assert actions == ["tool.escalate_to_human", "tool.freeze_card", "tool.unfreeze_card"]
        assert verify_chain(s, book).ok


def test_the_book_keeps_no_card_or_account_number(book):
    with book.engine.connect() as conn:
        dump = " ".join(str(row) for t in ("bank_cards", "bank_accounts") for row in conn.execute(sa.text(f"SELECT * FROM {t}")))
    assert CARDS[0]["token"] not in dump and CARDS[0]["last4"] in dump
