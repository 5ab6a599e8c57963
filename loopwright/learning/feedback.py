"""Feedback on a trace: thumbs, scores, a correction and free text, each with the consent flag that decides
whether it may ever be learned from.

    customer / agent / operator -> Feedback (checked against the policy's [feedback] rubric)
      -> free text masked by the input's PII rules (kept only with consent)
      -> one `feedback` row, and the trace's outcome, in one transaction

Who may grade a trace is the trace's visibility (`loopwright.observe.traces.TraceView`, passed in as
anything with its `sees` method: this plane sits below observe). Who gave the feedback (`Author`) is
taken from the caller, never from the request body, so a correction's agent cannot be forged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from loopwright.digests import canonical_json, utc_now
from loopwright.errors import InvalidInput, NotFound
from loopwright.policy.pii import PiiVault, conversation_secret, mask_text, pii_key
from loopwright.policy.schema import PolicySet
from loopwright.store.schema import FeedbackRow, TraceRow
from loopwright.text import Text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from loopwright.policy.principal import Principal
    from loopwright.workspace import Workspace

INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


class Visibility(Protocol):
    """What a caller may see: `TraceView` in observe."""

    def sees(self, tenant: str, subject: str | None, key_id: str | None) -> bool: ...


@dataclass(frozen=True)
class Author:
    """Who gave feedback: a role, and an identity (the customer, the key, or a named agent)."""

    role: str
    identity: str

    @classmethod
    def of(cls, principal: Principal, policy: PolicySet) -> Author:
        """The caller of an HTTP request: a customer key's customer, else the key (an agent's or operator's own)."""
        if principal.subject and principal.role in policy.access.customers:
            return cls(principal.role, principal.subject)
        return cls(principal.role, principal.key_id or principal.role)


class Feedback(BaseModel):
    """One piece of feedback as given, before it is checked against the policy and stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thumbs: Literal[-1, 1] | None = Field(None, description="1 up, -1 down.")
    score: float | None = Field(None, ge=0, le=5, description="An overall score, 0 to 5.")
    rubric: dict[Text, int] = Field(
        default_factory=dict, max_length=20, description="Rubric criterion -> score, on the scales of the policy's [feedback] rubric."
    )
    csat: int | None = Field(None, ge=1, le=5, description="Customer satisfaction, 1 to 5.")
    correction: Text | None = Field(
        None, max_length=50, description="The right intent (a call-centre agent's correction; the caller is recorded as its author)."
    )
    text: Text | None = Field(None, max_length=4000, description="Free text; kept only with consent, masked as the input policy masks.")
    consent: bool = Field(False, description="The customer agreed to this feedback being used for learning.")

    @field_validator("thumbs", mode="before")
    @classmethod
    def _not_a_bool(cls, value):
        if isinstance(value, bool):  # True == 1 would pass the Literal
            raise ValueError("thumbs must be 1 or -1, not a boolean")
        return value

    @field_validator("correction")
    @classmethod
    def _intent_name(cls, value: str | None) -> str | None:
        if value is not None and not INTENT_NAME.match(value):
            raise ValueError(f"correction must be an intent name (lowercase letters, digits, '_'), got {value!r}")
        return value

    def check(self, policy: PolicySet) -> None:
        """Refuse, naming the problem, feedback that says nothing or scores a rubric the policy does not define."""
        if self.thumbs is None and self.score is None and not self.rubric and self.csat is None and not self.correction and not self.text:
            raise InvalidInput("feedback needs thumbs, a score, rubric scores, a CSAT score, a correction or text")
        rubric = policy.feedback.rubric
        for name, value in self.rubric.items():
            criterion = rubric.get(name)
            if criterion is None:
                known = ", ".join(sorted(rubric)) or "none: the policy's [feedback] defines no rubric"
                raise InvalidInput(f"unknown rubric criterion {name!r}", hint=f"the policy's criteria: {known}")
            low, high = criterion.scale
            if not low <= value <= high:
                raise InvalidInput(f"rubric score {name}={value} is outside its scale {low}..{high}")

    def verdict(self, policy: PolicySet) -> int | None:
        """+1 or -1 for the trace's outcome: thumbs, else the overall score, else the rubric mean; None if none is given."""
        if self.thumbs is not None:
            return self.thumbs
        if self.score is not None:
            return 1 if self.score >= 3 else -1
        share = rubric_share(self.rubric, policy)
        return None if share is None else (1 if share >= 0.5 else -1)


def rubric_share(scores: dict[str, int], policy: PolicySet) -> float | None:
    """The mean of rubric scores, each scaled to 0..1 on its criterion's scale; None for no scores."""
    rubric = policy.feedback.rubric
    scaled = [(v - rubric[k].scale[0]) / (rubric[k].scale[1] - rubric[k].scale[0]) for k, v in scores.items() if k in rubric]
    return sum(scaled) / len(scaled) if scaled else None


def parse_feedback(fields: dict) -> Feedback:
    """`Feedback` from plain fields; a bad field is one `InvalidInput` naming it."""
    try:
        return Feedback.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "feedback"
        raise InvalidInput(f"{where}: {err['msg']}") from None


def record_feedback(
    ws: Workspace,
    trace_id: str,
    *,
    tenant: str | None = None,
    view: Visibility | None = None,
    author: Author | None = None,
    policy: PolicySet | None = None,
    **fields,
) -> str:
    """Store feedback (the `Feedback` fields) on a trace in `view` (or `tenant`); returns the trace's new outcome.

    Thumbs up, a score of 3+ (of 5) or a rubric mean of half its scale or more marks the outcome
    accepted; lower marks it a defect; a decline or an escalation stays what it was. Free text is
    kept only with consent, masked first by the policy's PII rules as a message is. A trace outside
    the view is not found, exactly as a missing one. `policy` defaults to the built-in rules (no rubric).
    """
    policy = policy or PolicySet()
    feedback = parse_feedback(fields)
    feedback.check(policy)
    text = feedback.text if feedback.consent else None
    if text:
        key = pii_key(ws)
        text = mask_text(text, policy.pii, PiiVault(conversation_secret(key, trace_id)), hash_key=key).text
    with ws.engine.begin() as conn:
        columns = (TraceRow.tenant, TraceRow.subject, TraceRow.key_id, TraceRow.outcome)
        row = conn.execute(sa.select(*columns).where(TraceRow.id == trace_id)).first()
        scope = view if view is not None else _TenantView(tenant)
        if row is None or not scope.sees(row.tenant, row.subject, row.key_id):
            raise NotFound(f"no trace {trace_id!r}")
        conn.execute(
            sa.insert(FeedbackRow).values(
                trace_id=trace_id,
                tenant=row.tenant,
                ts=utc_now(),
                thumbs=feedback.thumbs,
                score=feedback.score,
                rubric=canonical_json(feedback.rubric) if feedback.rubric else None,
                csat=feedback.csat,
                correction=feedback.correction,
                text=text,
                consent=feedback.consent,
                author=author.identity[:200] if author else None,
                author_role=author.role[:50] if author else None,
            )
        )
        outcome = row.outcome
        verdict = feedback.verdict(policy)
        if verdict is not None and outcome not in ("declined", "escalated"):
            outcome = "accepted" if verdict > 0 else "defect"
            conn.execute(sa.update(TraceRow).where(TraceRow.id == trace_id).values(outcome=outcome))
    return outcome


@dataclass(frozen=True)
class _TenantView:
    """Every trace of one tenant (None: every trace), for operators and library callers."""

    tenant: str | None

    def sees(self, tenant: str, subject: str | None, key_id: str | None) -> bool:
        return self.tenant is None or tenant == self.tenant


@dataclass(frozen=True)
class StoredFeedback:
    """One stored `feedback` row, typed, as curation reads it."""

    id: int
    trace_id: str
    ts: str
    thumbs: int | None
    score: float | None
    rubric: dict[str, int]
    csat: int | None
    correction: str | None
    consent: bool
    author: str | None
    author_role: str | None
    text: str | None = None
    """Free text, masked at storage; curation reads it only as a verified agent's rewrite of a bad answer."""


def stored_feedback(session: Session, trace_ids: Iterable[str]) -> dict[str, list[StoredFeedback]]:
    """The feedback on each of `trace_ids`, oldest first (free text only as stored: masked, and kept only with consent)."""
    ids = list(trace_ids)
    out: dict[str, list[StoredFeedback]] = {}
    for start in range(0, len(ids), 500):  # stays under every engine's bound-parameter limit
        query = sa.select(FeedbackRow).where(FeedbackRow.trace_id.in_(ids[start : start + 500])).order_by(FeedbackRow.id)
        for f in session.scalars(query):
            out.setdefault(f.trace_id, []).append(
                StoredFeedback(
                    id=f.id, trace_id=f.trace_id, ts=f.ts, thumbs=f.thumbs, score=f.score,
                    rubric=json.loads(f.rubric) if f.rubric else {}, csat=f.csat, correction=f.correction,
                    consent=bool(f.consent), author=f.author, author_role=f.author_role, text=f.text,
                )
            )
    return out
