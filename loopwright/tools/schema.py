"""The tool framework's tables: one row per executed tool call, one per pending confirmation.

`inputs` and `output` are canonical JSON and erasable (a data-subject
request); the digests, the ticket and the receipt link stay, so the audit
chain and the idempotency guarantee survive an erasure.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopwright.store.schema import Base


class ToolCallRow(Base):
    """One executed tool call and the receipt that proves it."""

    __tablename__ = "tool_calls"
    __table_args__ = (UniqueConstraint("tenant", "tool", "key_digest"),)

    ticket: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(100), index=True)
    tenant: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)  # the customer acted on
    caller: Mapped[str] = mapped_column(Text)  # canonical JSON: the principal (tenant, role, subject, key id)
    origin: Mapped[str] = mapped_column(String(32))
    key_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)  # idempotency key, keyed by tenant/subject/tool
    args_digest: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON, PII masked; erasable
    output: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON; erasable
    status: Mapped[str] = mapped_column(String(16))
    receipt_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))
    erased_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ToolConfirmationRow(Base):
    """A confirmation the assistant asked for: the one call it may run, once, before it expires.

    Only the token's digest is kept. `arguments` is erasable; the call's own
    digests bind the confirmation to exactly what was asked.
    """

    __tablename__ = "tool_confirmations"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON of the call's arguments
    args_digest: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(100))
    caller: Mapped[str] = mapped_column(String(64))  # digest of the principal: tenant, role, subject, key id
    customer: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)  # who the call acts for
    conversation: Mapped[str] = mapped_column(String(64))  # digest of the conversation id (`user`)
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
