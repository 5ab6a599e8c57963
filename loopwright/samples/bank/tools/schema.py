"""The sample bank's book of record, as the bank tools read and change it.

Only what the tools need is kept: no card number (its last four digits and a
keyed digest), no name, e-mail, phone, birth date or address. What the
assistant can change, it can change only through a tool with a receipt.
The tables are the plugin's own (`BankBase`), created by its revisions in
`loopwright.samples.bank.migrations`, never by the core's.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class BankBase(DeclarativeBase):
    """The bank plugin's tables, apart from the core's `loopwright.store.schema.Base`."""


class BankCustomerRow(BankBase):
    __tablename__ = "bank_customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(100), index=True)


class BankAccountRow(BankBase):
    __tablename__ = "bank_accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("bank_customers.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    number_digest: Mapped[str] = mapped_column(String(64))
    balance_cents: Mapped[int] = mapped_column(Integer)


class BankCardRow(BankBase):
    __tablename__ = "bank_cards"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("bank_customers.id"), index=True)
    last4: Mapped[str] = mapped_column(String(4), index=True)
    pan_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # active | frozen
    updated_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class BankTransactionRow(BankBase):
    __tablename__ = "bank_transactions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("bank_cards.id"), index=True)
    merchant: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)
    posted_date: Mapped[str] = mapped_column(String(10))
    statement_date: Mapped[str] = mapped_column(String(10))


class BankDisputeRow(BankBase):
    __tablename__ = "bank_disputes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    # Equal to transaction_id while the dispute is open, NULL once closed: a unique column
    # that enforces "one open dispute per transaction" on every engine (NULLs never collide).
    open_key: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("bank_customers.id"), index=True)
    ticket: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # PII masked; erasable
    amount_cents: Mapped[int] = mapped_column(Integer)
    provisional_credit_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    opened_at: Mapped[str] = mapped_column(String(32))


class BankEscalationRow(BankBase):
    __tablename__ = "bank_escalations"

    ticket: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("bank_customers.id"), index=True)
    tenant: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # PII masked; erasable
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[str] = mapped_column(String(32))
