"""The tool framework's table: one row per executed tool call.

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
