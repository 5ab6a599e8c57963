"""What the sample bank's book holds about a customer, for data-subject export and erasure.

Registered under the `loopwright.subject_stores` entry point. In a workspace
where the sample was not installed the book's tables do not exist, and the
store holds nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.policy.subjects import subject_store
from loopwright.samples.bank.migrations import SCHEMA
from loopwright.samples.bank.tools.schema import (
    BankAccountRow,
    BankCardRow,
    BankCustomerRow,
    BankDisputeRow,
    BankEscalationRow,
    BankTransactionRow,
)
from loopwright.store.plugins import plugin_installed


def _erase_bank(session: Session, ws: Any, subject: str) -> int:
    if not plugin_installed(session.connection(), SCHEMA):
        return 0
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
    if not plugin_installed(session.connection(), SCHEMA):
        return None
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
