"""Tables. Every change to them goes through an Alembic revision in migrations/versions.

JSON payloads that take part in digests are stored as canonical JSON text, not
as a JSON column, so the bytes read back are the bytes that were hashed on
every engine (PostgreSQL's JSONB would reorder keys).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ArtifactRow(Base):
    """One immutable, content-addressed artifact version."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("kind", "name", "version"),
        UniqueConstraint("kind", "name", "digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    files: Mapped[str] = mapped_column(Text)  # canonical JSON: {path: {"digest", "size"}}
    parents: Mapped[str] = mapped_column(Text)  # canonical JSON: [digest, ...]
    provenance: Mapped[str] = mapped_column(Text)  # canonical JSON
    config: Mapped[str] = mapped_column(Text)  # canonical JSON: what produced it
    created_at: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))


class ReceiptRow(Base):
    """One link of the signed, hash-chained audit log."""

    __tablename__ = "receipts"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    before: Mapped[str] = mapped_column(Text)  # canonical JSON
    after: Mapped[str] = mapped_column(Text)  # canonical JSON
    details: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON; erasable
    details_digest: Mapped[str] = mapped_column(String(64))
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(16))


class DeploymentRow(Base):
    """Which artifact a slot serves on a channel (`stable`, or `canary` with a traffic share)."""

    __tablename__ = "deployment"

    slot: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    share: Mapped[float] = mapped_column(Float, default=1.0)
    updated_at: Mapped[str] = mapped_column(String(32))


class DeploymentVersionRow(Base):
    """A counter bumped by every deployment change; running servers watch it."""

    __tablename__ = "deployment_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ApiKeyRow(Base):
    """An API key, stored as its sha256 only, mapped to a principal."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(50))
    scopes: Mapped[str] = mapped_column(Text)  # canonical JSON list
    subject: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class TraceRow(Base):
    """One inference call. `record` is the whole trace; the other columns are for querying."""

    __tablename__ = "traces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ts: Mapped[str] = mapped_column(String(32), index=True)
    tenant: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    key_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)  # the calling key: what a key without a subject may read
    channel: Mapped[str] = mapped_column(String(16))
    deployment_version: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(100))
    conversation: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # with tenant and owner: one conversation
    intent: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)
    tier: Mapped[str | None] = mapped_column(String(50), nullable=True)
    cache_hit: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)
    record: Mapped[str] = mapped_column(Text)  # JSON


class FeedbackRow(Base):
    """Thumbs, scores, a correction or free text on one trace, who gave it, and whether it may be learned from."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_id: Mapped[str] = mapped_column(ForeignKey("traces.id"), index=True)
    tenant: Mapped[str] = mapped_column(String(100))
    ts: Mapped[str] = mapped_column(String(32))
    thumbs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    consent: Mapped[bool] = mapped_column(Boolean)
    rubric: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON: {criterion: score}
    csat: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1..5
    correction: Mapped[str | None] = mapped_column(String(50), nullable=True)  # the right intent
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)  # who gave it: subject, key id or named agent
    author_role: Mapped[str | None] = mapped_column(String(50), nullable=True)


class ReviewRow(Base):
    """One spot-check decision on one item of a curated dataset; the latest per item counts."""

    __tablename__ = "dataset_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(64), index=True)  # the dataset artifact's digest
    item: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject | relabel
    label: Mapped[str | None] = mapped_column(String(50), nullable=True)  # the new intent, for relabel
    reviewer: Mapped[str] = mapped_column(String(200))
    scripted: Mapped[bool] = mapped_column(Boolean)
    ts: Mapped[str] = mapped_column(String(32))


class ReleaseRow(Base):
    """One slot changing from a baseline artifact to a candidate: gated, canaried, then ended."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[str] = mapped_column(String(100), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # rejected | canary | promoted | rolled_back | aborted
    share: Mapped[float] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer)
    skip_gate: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[str] = mapped_column(String(32))
    step_started_at: Mapped[str] = mapped_column(String(32))
    ended_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    gate: Mapped[str] = mapped_column(Text)  # JSON: the golden gate's summary
    analysis: Mapped[str] = mapped_column(Text)  # JSON: the latest canary analysis


class FlagRow(Base):
    """A named feature flag: boolean, or a sticky percentage of callers."""

    __tablename__ = "flags"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # boolean | percentage
    enabled: Mapped[bool] = mapped_column(Boolean)
    percentage: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(String(32))


class ReceiptHeadRow(Base):
    """The signed head of the receipt chain (one row): the last receipt's seq and digest.

    Kept apart from `receipts` so that deleting the newest receipts is seen:
    the chain then ends before the receipt its head names.
    """

    __tablename__ = "receipt_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(16))


class LeaseRow(Base):
    """A named lease one process holds until `expires_at` (epoch seconds), e.g. the release controller's."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[str] = mapped_column(String(32))


class SloAlertRow(Base):
    """A burn-rate alert: open from `fired_at` until `resolved_at`; one open alert per objective and window."""

    __tablename__ = "slo_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective: Mapped[str] = mapped_column(String(100), index=True)
    window: Mapped[str] = mapped_column(String(40))  # "<long_s>/<short_s>"
    severity: Mapped[str] = mapped_column(String(20))
    burn_long: Mapped[float] = mapped_column(Float)
    burn_short: Mapped[float] = mapped_column(Float)
    fired_at: Mapped[str] = mapped_column(String(32))
    resolved_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    delivered: Mapped[str] = mapped_column(String(200), default="")  # the webhook's answer to the last notice
