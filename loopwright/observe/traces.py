"""Traces: one record per inference call, written off the response path, queried by tenant.

`TraceWriter` queues records and a background thread inserts them in batches;
`close()` drains the queue, so a server stopped with SIGTERM loses none.
Every query is scoped to a tenant: another tenant's trace is "not found".
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import UTC, datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import utc_now
from loopwright.errors import InvalidInput, NotFound
from loopwright.policy.subjects import subject_store
from loopwright.serving.trace import Trace
from loopwright.store.schema import FeedbackRow, TraceRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

OUTCOMES = ("answered", "accepted", "defect", "escalated", "declined", "error")
_STOP = object()


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """The `traces` columns for one record (plain values: a bulk insert needs no ORM objects)."""
    principal = record["principal"]
    return dict(
        id=record["id"],
        ts=record["ts"],
        tenant=principal["tenant"],
        subject=principal.get("subject"),
        channel=record["channel"],
        deployment_version=record["deployment_version"],
        model=record["model"],
        intent=(record.get("triage") or {}).get("intent"),
        tier=(record.get("route") or {}).get("tier"),
        cache_hit=bool(record["cache"]["hit"]),
        outcome=record["outcome"],
        latency_ms=record["latency_ms"],
        cost=record["cost"],
        record=json.dumps(record, ensure_ascii=False, sort_keys=True),
    )


class TraceWriter:
    """Background, batched trace inserts with drain-on-close."""

    def __init__(self, ws: Workspace, *, max_queue: int = 50_000, batch: int = 200):
        self.ws = ws
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._batch = batch
        self._flushed = threading.Condition()
        self._submitted = 0  # traces queued so far; FIFO, so "written >= n" means the first n are in
        self._written = 0
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        """Queue a trace; blocks only if the queue is full (back-pressure, never loss)."""
        with self._flushed:
            self._submitted += 1
            self._queue.put(record)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every trace queued before this call is in the database (later ones don't delay it)."""
        with self._flushed:
            target = self._submitted
            self._flushed.wait_for(lambda: self._written >= target, timeout=timeout)

    def close(self) -> None:
        """Drain the queue and stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            items = []
            if item is _STOP:
                stop = True
            else:
                items.append(item)
            while len(items) < self._batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                items.append(item)
            if items:
                self._write(items)

    def _write(self, records: list[dict[str, Any]]) -> None:
        for attempt in range(5):
            try:
                with self.ws.engine.begin() as conn:
                    conn.execute(sa.insert(TraceRow), [_row(r) for r in records])
                break
            except sa.exc.OperationalError as exc:  # e.g. a locked SQLite file under heavy load: retry
                log.warning("trace write failed (attempt %d): %s", attempt + 1, exc)
                time.sleep(0.1 * 2**attempt)
        else:
            log.error("dropping %d traces after 5 failed writes", len(records))
        with self._flushed:
            self._written += len(records)
            self._flushed.notify_all()


def _stamp(when: str) -> str:
    """An ISO-8601 time in the fixed-width UTC form traces are stored in, so text order is time order."""
    try:
        moment = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"invalid time {when!r}", hint="ISO-8601, e.g. 2026-11-29T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def get_trace(ws: Workspace, trace_id: str, *, tenant: str | None) -> dict[str, Any]:
    """A trace by id; with `tenant`, another tenant's trace is reported as not found."""
    with ws.session() as s:
        row = s.get(TraceRow, trace_id)
        if row is None or (tenant is not None and row.tenant != tenant):
            raise NotFound(f"no trace {trace_id!r}")
        return _with_feedback(s, row)


def _with_feedback(session, row: TraceRow) -> dict[str, Any]:
    """A stored trace with its current outcome and its feedback, oldest first."""
    record = json.loads(row.record)
    record["outcome"] = row.outcome
    record["feedback"] = [
        {"thumbs": f.thumbs, "score": f.score, "text": f.text, "consent": f.consent, "ts": f.ts}
        for f in session.scalars(sa.select(FeedbackRow).where(FeedbackRow.trace_id == row.id).order_by(FeedbackRow.id))
    ]
    return record


def list_traces(
    ws: Workspace,
    *,
    tenant: str | None,
    since: str | None = None,
    until: str | None = None,
    intent: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Trace summaries, newest first, filtered and paged."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}", hint=f"one of: {', '.join(OUTCOMES)}")
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidInput("limit must be 1..1000 and offset >= 0")
    query = sa.select(TraceRow).order_by(TraceRow.ts.desc(), TraceRow.id.desc())
    for column, value in ((TraceRow.tenant, tenant), (TraceRow.intent, intent), (TraceRow.outcome, outcome)):
        if value is not None:
            query = query.where(column == value)
    if since:
        query = query.where(TraceRow.ts >= _stamp(since))
    if until:
        query = query.where(TraceRow.ts < _stamp(until))
    with ws.session() as s:
        rows = s.scalars(query.limit(limit).offset(offset)).all()
    return [
        {
            "id": r.id,
            "ts": r.ts,
            "tenant": r.tenant,
            "channel": r.channel,
            "model": r.model,
            "intent": r.intent,
            "tier": r.tier,
            "cache_hit": r.cache_hit,
            "outcome": r.outcome,
            "latency_ms": r.latency_ms,
            "cost": r.cost,
        }
        for r in rows
    ]


def load_records(ws: Workspace, *, since: str | None = None, until: str | None = None, ids: Sequence[str] | None = None):
    """Full trace records (with current outcome) for reports and analysis."""
    query = sa.select(TraceRow.record, TraceRow.outcome).order_by(TraceRow.ts)
    if since:
        query = query.where(TraceRow.ts >= _stamp(since))
    if until:
        query = query.where(TraceRow.ts < _stamp(until))
    if ids is not None:
        query = query.where(TraceRow.id.in_(list(ids)))
    with ws.session() as s:
        for record, outcome in s.execute(query):
            data = json.loads(record)
            data["outcome"] = outcome
            yield data


def load_traces(ws: Workspace, *, since: str | None = None, until: str | None = None, ids: Sequence[str] | None = None):
    """`load_records`, each parsed into the typed `Trace`."""
    for record in load_records(ws, since=since, until=until, ids=ids):
        yield Trace.from_dict(record)


def record_feedback(
    ws: Workspace,
    trace_id: str,
    *,
    tenant: str | None,
    thumbs: int | None = None,
    score: float | None = None,
    text: str | None = None,
    consent: bool = False,
) -> str:
    """Store feedback on a trace and update its outcome; returns the new outcome.

    Thumbs up or a score of 3+ (of 5) marks the outcome accepted; thumbs down or
    a lower score marks it a defect. Free text is kept only with consent.
    """
    if thumbs is None and score is None and not text:
        raise InvalidInput("feedback needs thumbs, a score or text")
    if thumbs not in (None, -1, 1):
        raise InvalidInput("thumbs must be 1 (up) or -1 (down)")
    if score is not None and not 0 <= score <= 5:
        raise InvalidInput("score must be between 0 and 5")
    with ws.engine.begin() as conn:
        row = conn.execute(sa.select(TraceRow.tenant, TraceRow.outcome).where(TraceRow.id == trace_id)).first()
        if row is None or (tenant is not None and row.tenant != tenant):
            raise NotFound(f"no trace {trace_id!r}")
        conn.execute(
            sa.insert(FeedbackRow).values(
                trace_id=trace_id,
                tenant=row.tenant,
                ts=utc_now(),
                thumbs=thumbs,
                score=score,
                text=text if consent else None,
                consent=consent,
            )
        )
        outcome = row.outcome
        verdict = thumbs if thumbs is not None else (None if score is None else (1 if score >= 3 else -1))
        if verdict is not None and outcome not in ("declined", "escalated"):
            outcome = "accepted" if verdict > 0 else "defect"
            conn.execute(sa.update(TraceRow).where(TraceRow.id == trace_id).values(outcome=outcome))
    return outcome


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
        record["principal"] = {**record["principal"], "subject": alias, "key_id": None}
        record["erased"] = True
        row.record, row.subject = json.dumps(record, ensure_ascii=False, sort_keys=True), alias
        session.execute(sa.update(FeedbackRow).where(FeedbackRow.trace_id == row.id).values(text=None))
        n += 1
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
