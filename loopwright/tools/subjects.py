"""What the tool framework keeps about a customer (executed tool calls), for data-subject export and erasure.

A plugin's tools keep their own records and register their own store (the
sample bank: `loopwright.samples.bank.tools.subjects`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import utc_now
from loopwright.policy.subjects import erase_receipt_details, subject_store
from loopwright.registry.receipts import get_receipt
from loopwright.tools.executor import tool_call_dict
from loopwright.tools.schema import ToolCallRow, ToolConfirmationRow


def _erase_tool_calls(session: Session, ws: Any, subject: str) -> int:
    rows = session.scalars(sa.select(ToolCallRow).where(ToolCallRow.subject == subject)).all()
    now = utc_now()
    for row in rows:
        row.inputs, row.output, row.erased_at = None, None, row.erased_at or now
    erase_receipt_details(session, [r.receipt_seq for r in rows])
    # Pending confirmations hold the arguments of a call not (yet) made: they go entirely.
    pending = session.execute(sa.delete(ToolConfirmationRow).where(ToolConfirmationRow.customer == subject))
    return len(rows) + (pending.rowcount or 0)


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
