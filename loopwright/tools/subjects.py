"""What the tools keep about a customer, for data-subject export and erasure."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import utc_now
from loopwright.policy.subjects import erase_receipt_details, subject_store
from loopwright.registry.receipts import get_receipt
from loopwright.tools.bank.schema import (
    BankAccountRow,
    BankCardRow,
    BankCustomerRow,
    BankDisputeRow,
    BankEscalationRow,
    BankTransactionRow,
)
from loopwright.tools.executor import tool_call_dict
from loopwright.tools.schema import ToolCallRow


def _erase_tool_calls(session: Session, ws: Any, subject: str) -> int:
    rows = session.scalars(sa.select(ToolCallRow).where(ToolCallRow.subject == subject)).all()
    now = utc_now()
    for row in rows:
        row.inputs, row.output, row.erased_at = None, None, row.erased_at or now
    erase_receipt_details(session, [r.receipt_seq for r in rows])
    return len(rows)


def _remaining_tool_calls(session: Session, ws: Any, subject: str) -> dict[str, Any] | None:
    """After an erase: the tool actions' receipts, which stay."""
    rows = session.scalars(
        sa.select(ToolCallRow).where(ToolCallRow.subject == subject, ToolCallRow.erased_at.is_not(None)).order_by(ToolCallRow.created_at)
    ).all()
    if not rows:
        return None
    found = [get_receipt(session, str(r.receipt_seq)) for r in rows]
    return {"receipts": [{"id": r.id, "seq": r.seq, "digest": r.digest} for r in found],
            "why": "each tool action's receipt stays in the signed chain as proof of what was done; its details "
                   "(arguments, output) are erased and only their digest remains"}


@subject_store("tool_calls", erase=_erase_tool_calls, remains=_remaining_tool_calls)
def _export_tool_calls(session: Session, ws: Any, subject: str) -> list[dict[str, Any]]:
    """Tool calls that acted for the subject, each with its receipt."""
    out = []
    for row in session.scalars(sa.select(ToolCallRow).where(ToolCallRow.subject == subject).order_by(ToolCallRow.created_at)):
        item = tool_call_dict(row)
        item["receipt"] = get_receipt(session, str(row.receipt_seq)).to_dict()
        out.append(item)
    return out


def _erase_bank(session: Session, ws: Any, subject: str) -> int:
    # The book of record (cards, transactions, disputes) is kept under the bank's legal retention
    # duty; the customer's own words in disputes and escalations are erased.
    n = 0
    for model in (BankDisputeRow, BankEscalationRow):
        result = session.execute(
            sa.update(model).where(model.customer_id == subject, model.reason.is_not(None)).values(reason=None)
        )
        n += result.rowcount or 0
    return n


def _rows(session: Session, query) -> list[dict[str, Any]]:
    return [{c.name: getattr(r, c.name) for c in r.__table__.columns} for r in session.scalars(query)]


@subject_store("bank", erase=_erase_bank)
def _export_bank(session: Session, ws: Any, subject: str) -> dict[str, Any] | None:
    """The subject's record in the sample bank's book: accounts, cards, transactions, disputes, escalations."""
    customer = session.get(BankCustomerRow, subject)
    if customer is None:
        return None
    cards = _rows(session, sa.select(BankCardRow).where(BankCardRow.customer_id == subject))
    for card in cards:
        card.pop("pan_digest")
    accounts = _rows(session, sa.select(BankAccountRow).where(BankAccountRow.customer_id == subject))
    for account in accounts:
        account.pop("number_digest")
    return {
        "customer": {"id": customer.id, "tenant": customer.tenant},
        "accounts": accounts,
        "cards": cards,
        "transactions": _rows(
            session, sa.select(BankTransactionRow).where(BankTransactionRow.card_id.in_([c["id"] for c in cards]))
        ),
        "disputes": _rows(session, sa.select(BankDisputeRow).where(BankDisputeRow.customer_id == subject)),
        "escalations": _rows(session, sa.select(BankEscalationRow).where(BankEscalationRow.customer_id == subject)),
    }


