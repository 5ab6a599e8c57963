"""Traces as callers and operators read them: scoped queries, feedback, a subject's export and erasure.

The gateway writes them (`loopwright.serving.trace_store`). Every query is scoped: by a `TraceView` (what one caller may read and grade:
`TraceView.of(principal, policy)`), or by tenant. A trace outside the scope is
"not found", exactly as a missing one, so its existence is not revealed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import sha256_hex, utc_stamp
from loopwright.errors import InvalidInput, NotFound
from loopwright.policy.subjects import subject_store
from loopwright.serving.conversations import check_conversation_id
from loopwright.store.schema import FeedbackRow, TraceRow

if TYPE_CHECKING:
    from loopwright.policy.principal import Principal
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace


OUTCOMES = ("answered", "accepted", "defect", "escalated", "declined", "error")
MAX_OFFSET = 1_000_000_000
"""The largest `offset` a trace listing takes: well inside every engine's integer range."""


@dataclass(frozen=True)
class TraceView:
    """The traces one caller may read and grade: those of `tenants`, narrowed to one customer
    (`subject`) or to the calls of one key (`key_id`) when set."""

    tenants: tuple[str, ...]
    subject: str | None = None
    key_id: str | None = None

    @classmethod
    def of(cls, principal: Principal, policy: PolicySet) -> TraceView:
        """Operators: their tenant. Agents: their tenant and every tenant whose retrieval scopes the key
        holds. Anyone else: their own calls (the key's customer, else the key). See `AccessRules`."""
        access = policy.access
        if principal.role in access.operators:
            return cls((principal.tenant,))
        if principal.role in access.agents:
            served = [
                name for name, rules in sorted(policy.retrieval.tenants.items())
                if name != principal.tenant and set(rules.scopes) <= set(principal.scopes)
            ]
            return cls((principal.tenant, *served))
        if principal.subject:
            return cls((principal.tenant,), subject=principal.subject)
        return cls((principal.tenant,), key_id=principal.key_id or "-")  # "-" matches no key: a keyless caller sees nothing

    def where(self, query):
        """`query` narrowed to this view."""
        query = query.where(TraceRow.tenant.in_(self.tenants))
        if self.subject is not None:
            query = query.where(TraceRow.subject == self.subject)
        if self.key_id is not None:
            query = query.where(TraceRow.key_id == self.key_id)
        return query

    def sees(self, tenant: str, subject: str | None, key_id: str | None) -> bool:
        """Whether a trace with these columns is in view."""
        return (
            tenant in self.tenants
            and (self.subject is None or subject == self.subject)
            and (self.key_id is None or key_id == self.key_id)
        )


def _scope(tenant: str | None, view: TraceView | None) -> TraceView | None:
    """The view a query runs under: `view`, else the whole of `tenant`, else everything (None)."""
    if view is not None:
        return view
    return TraceView((tenant,)) if tenant is not None else None


def get_trace(ws: Workspace, trace_id: str, *, tenant: str | None = None, view: TraceView | None = None) -> dict[str, Any]:
    """A trace by id; one outside `view` (or another `tenant`'s) is reported as not found."""
    scope = _scope(tenant, view)
    with ws.session() as s:
        row = s.get(TraceRow, trace_id)
        if row is None or (scope is not None and not scope.sees(row.tenant, row.subject, row.key_id)):
            raise NotFound(f"no trace {trace_id!r}")
        return _with_feedback(s, row)


def _with_feedback(session, row: TraceRow) -> dict[str, Any]:
    """A stored trace as stored (an export holds every field, those of a later version included), with its
    current outcome and its feedback, oldest first."""
    record = json.loads(row.record)
    record["outcome"] = row.outcome
    record["feedback"] = [
        {
            "thumbs": f.thumbs, "score": f.score, "rubric": json.loads(f.rubric) if f.rubric else {}, "csat": f.csat,
            "correction": f.correction, "text": f.text, "consent": f.consent, "author": f.author,
            "author_role": f.author_role, "ts": f.ts,
        }
        for f in session.scalars(sa.select(FeedbackRow).where(FeedbackRow.trace_id == row.id).order_by(FeedbackRow.id))
    ]
    return record


def list_traces(
    ws: Workspace,
    *,
    tenant: str | None = None,
    view: TraceView | None = None,
    since: str | None = None,
    until: str | None = None,
    intent: str | None = None,
    outcome: str | None = None,
    language: str | None = None,
    artifact: str | None = None,
    subject: str | None = None,
    conversation: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Trace summaries in `view` (or `tenant`), newest first, filtered and paged.

    `language` is the question's (ISO 639-1), `artifact` a ref (`corpus/bank@2`) or digest that served one of
    the call's slots, `subject` the customer the call acted for, `conversation` the conversation id."""
    check_conversation_id(conversation)
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}", hint=f"one of: {', '.join(OUTCOMES)}")
    if not 1 <= limit <= 1000 or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"limit must be 1..1000 and offset 0..{MAX_OFFSET}")
    query = sa.select(TraceRow).order_by(TraceRow.ts.desc(), TraceRow.id.desc())
    scope = _scope(tenant, view)
    if scope is not None:
        query = scope.where(query)
    for column, value in ((TraceRow.intent, intent), (TraceRow.outcome, outcome), (TraceRow.subject, subject),
                          (TraceRow.conversation, conversation)):
        if value is not None:
            query = query.where(column == value)
    # Fields without a column of their own are matched in the stored record, which is written with
    # json.dumps(sort_keys=True) and its default separators: `"language": "es"`, `"ref": "corpus/bank@2"`.
    if language is not None:
        query = query.where(TraceRow.record.contains(f'"language": {json.dumps(language, ensure_ascii=False)}', autoescape=True))
    if artifact is not None:
        key = "digest" if all(c in "0123456789abcdef" for c in artifact) and len(artifact) >= 8 else "ref"
        needle = f'"{key}": "{artifact}' if key == "digest" else f'"ref": {json.dumps(artifact, ensure_ascii=False)}'
        query = query.where(TraceRow.record.contains(needle, autoescape=True))
    if since:
        query = query.where(TraceRow.ts >= utc_stamp(since))
    if until:
        query = query.where(TraceRow.ts < utc_stamp(until))
    with ws.session() as s:
        rows = s.scalars(query.limit(limit).offset(offset)).all()
    return [
        {
            "id": r.id,
            "ts": r.ts,
            "tenant": r.tenant,
            "channel": r.channel,
            "model": r.model,
            "conversation": r.conversation,
            "subject": r.subject,
            "intent": r.intent,
            "tier": r.tier,
            "cache_hit": r.cache_hit,
            "outcome": r.outcome,
            "latency_ms": r.latency_ms,
            "cost": r.cost,
        }
        for r in rows
    ]


def get_conversation(ws: Workspace, conversation: str, *, tenant: str | None = None,
                     view: TraceView | None = None) -> dict[str, Any]:
    """The turns of one conversation the caller may see, oldest first, grouped by owner (a customer, else a key):
    the same id sent by two customers is two conversations, and a customer's view holds only their own.
    None visible is "not found", exactly as an id never used."""
    check_conversation_id(conversation)
    query = sa.select(TraceRow).where(TraceRow.conversation == conversation).order_by(TraceRow.ts, TraceRow.id)
    scope = _scope(tenant, view)
    if scope is not None:
        query = scope.where(query)
    with ws.session() as s:
        rows = s.scalars(query.limit(1000)).all()
        if not rows:
            raise NotFound(f"no conversation {conversation!r}")
        owners: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in rows:
            turn = _with_feedback(s, r)
            owners.setdefault((r.tenant, r.subject or r.key_id or "-"), []).append(turn)
    return {
        "id": conversation,
        "conversations": [{"tenant": t, "owner": o, "turns": turns} for (t, o), turns in owners.items()],
    }


def _subject_traces(session, subject: str):
    return session.scalars(sa.select(TraceRow).where(TraceRow.subject == subject).order_by(TraceRow.ts))


_ERASED_FIELDS = ("input", "output", "citations", "pii")
_KEPT_TOOL_FIELDS = ("name", "status", "ticket", "receipt")


def _erase_traces(session, ws, subject: str) -> int:
    """Pseudonymise the subject's traces: drop what the customer wrote and was told (masked as it was),
    error messages, tool verdicts and their feedback text; replace the subject by its pseudonym and drop
    the key id. The operational fields (versions, route, latency, cost) that reports and audits rest on stay."""
    from loopwright.policy.subjects import pseudonym

    alias = pseudonym(ws, subject)
    n = 0
    for row in _subject_traces(session, subject):
        record = json.loads(row.record)
        for key in _ERASED_FIELDS:
            record.pop(key, None)
        if isinstance(record.get("error"), dict):
            record["error"] = {"type": record["error"].get("type")}
        record["tools"] = [{k: t[k] for k in _KEPT_TOOL_FIELDS if k in t} for t in record.get("tools") or []]
        record["principal"] = {**record["principal"], "subject": alias, "key_id": ""}  # no key: as `Caller` reads it
        record["erased"] = True
        if row.conversation:  # a caller-chosen id may name the customer; the same stand-in keeps its turns together
            record["conversation"] = "erased_" + sha256_hex(f"{alias}:{row.conversation}".encode())[:24]
        row.record, row.subject, row.key_id = json.dumps(record, ensure_ascii=False, sort_keys=True), alias, None
        row.conversation = record.get("conversation")
        session.execute(sa.update(FeedbackRow).where(FeedbackRow.trace_id == row.id).values(text=None))
        n += 1
    # feedback the subject gave names them as its author (on their own traces or, as an agent, on others')
    session.execute(sa.update(FeedbackRow).where(FeedbackRow.author == subject).values(author=alias))
    return n


def _export_traces(session, ws, subject: str) -> list[dict[str, Any]]:
    """Traces of calls made for the subject (masked), each with its feedback."""
    return [_with_feedback(session, row) for row in _subject_traces(session, subject)]


def _remaining_traces(session, ws, subject: str) -> dict[str, Any] | None:
    """After an erase: how many pseudonymised traces remain, and why."""
    from loopwright.policy.subjects import pseudonym

    ids = [row.id for row in _subject_traces(session, pseudonym(ws, subject))]
    if not ids:
        return None
    return {"count": len(ids), "trace_ids": ids, "pseudonym": pseudonym(ws, subject),
            "why": "operational fields (versions, route, latency, cost, outcome) kept for reports, canary analysis "
                   "and audits; what you wrote and were told, your id and your key id are gone"}


subject_store("traces", erase=_erase_traces, remains=_remaining_traces)(_export_traces)
