"""Traces: one record per inference call, written off the response path, queried by tenant.

`TraceWriter` queues records and a background thread inserts them in batches;
`close()` drains the queue, so a server stopped with SIGTERM loses none.
Every query is scoped: by a `TraceView` (what one caller may read and grade:
`TraceView.of(principal, policy)`), or by tenant. A trace outside the scope is
"not found", exactly as a missing one, so its existence is not revealed.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import utc_now, utc_stamp
from loopwright.errors import InvalidInput, NotFound
from loopwright.policy.subjects import subject_store
from loopwright.serving.trace import Trace
from loopwright.store.schema import FeedbackRow, TraceRow

if TYPE_CHECKING:
    from loopwright.policy.principal import Principal
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

OUTCOMES = ("answered", "accepted", "defect", "escalated", "declined", "error")
MAX_OFFSET = 1_000_000_000
"""The largest `offset` a trace listing takes: well inside every engine's integer range."""
_STOP = object()


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """The `traces` columns for one record (plain values: a bulk insert needs no ORM objects).

    Text that cannot be stored (not valid Unicode, longer than its column) raises here, before
    the insert, so one bad record never costs its batch: see `TraceWriter._write`.
    """
    principal = record["principal"]
    row = dict(
        id=record["id"],
        ts=record["ts"],
        tenant=principal["tenant"],
        subject=principal.get("subject"),
        key_id=principal.get("key_id") or None,
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
    for name, value in row.items():
        if not isinstance(value, str):
            continue
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError here, not in the driver later
        limit = _WIDTHS.get(name)
        if limit is not None and len(value) > limit:
            if name in _IDENTITY:
                raise ValueError(f"{name} is longer than {limit} characters")
            row[name] = value[:limit]  # a query column; the record keeps the whole value
    return row


_WIDTHS = {c.name: c.type.length for c in TraceRow.__table__.columns if getattr(c.type, "length", None)}
_IDENTITY = {"id", "ts", "tenant", "subject", "key_id"}


def _clean(value: Any, limit: int = 200) -> str:
    """`value` as text that any column can hold: valid UTF-8, at most `limit` characters."""
    return str(value).encode("utf-8", "replace").decode("utf-8")[:limit]


def _error_row(record: Any, reason: str) -> dict[str, Any]:
    """A minimal error trace standing in for a record that could not be stored: its id, time, caller,
    and why. Every value is cleaned, so this row itself always stores."""
    get = record.get if isinstance(record, dict) else lambda key, default=None: getattr(record, key, default)
    principal = get("principal") or {}
    principal = principal if isinstance(principal, dict) else {}
    trace_id = _clean(get("id") or "tr_" + uuid.uuid4().hex[:24], 40)
    ts = _clean(get("ts") or utc_now(), 32)
    caller = {k: _clean(principal[k], 100) for k in ("tenant", "role", "subject", "key_id") if principal.get(k)}
    caller.setdefault("tenant", "unknown")
    channel, version = _clean(get("channel") or "unknown", 16), _number(get("deployment_version"), int)
    stored = {  # the fields every `Trace` has, so readers of the typed record read this one too
        "id": trace_id, "ts": ts, "principal": caller, "channel": channel, "deployment_version": version,
        "model": "unknown", "outcome": "error", "error": {"type": "TraceWriteError", "message": _clean(reason, 500)},
    }
    return dict(
        id=trace_id, ts=ts, tenant=caller["tenant"], subject=caller.get("subject"), key_id=caller.get("key_id"),
        channel=channel, deployment_version=version,
        model="unknown", intent=None, tier=None, cache_hit=False, outcome="error",
        latency_ms=_number(get("latency_ms"), float), cost=_number(get("cost"), float),
        record=json.dumps(stored, ensure_ascii=False, sort_keys=True),
    )


def _number(value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        return kind(0)


class TraceWriter:
    """Background, batched trace inserts with drain-on-close.

    The thread never dies of a record: one that cannot be stored (text that is not
    valid Unicode, a value too long for its column) is replaced by a minimal error
    trace that says why, and the rest of its batch is written as usual. `alive`
    is what `/healthz` reports: a writer that stopped anyway means no traces.
    """

    def __init__(self, ws: Workspace, *, max_queue: int = 50_000, batch: int = 200):
        self.ws = ws
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._batch = batch
        self._flushed = threading.Condition()
        self._submitted = 0  # traces queued so far; FIFO, so "written >= n" means the first n are in
        self._written = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether queued traces are being written (false once the thread stopped, or while closing)."""
        return self._thread.is_alive() and not self._closing

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
        self._closing = True
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
                try:
                    self._write(items)
                except Exception:  # a bug in this module: log it, keep the thread (and every later trace)
                    log.exception("trace writer: %d traces not written", len(items))
                finally:
                    with self._flushed:
                        self._written += len(items)
                        self._flushed.notify_all()

    def _write(self, records: list[dict[str, Any]]) -> None:
        rows = []
        for record in records:
            try:
                rows.append(_row(record))
            except Exception as exc:  # noqa: BLE001 - whatever makes it unstorable, store why instead
                reason = f"trace could not be stored: {type(exc).__name__}: {exc}"
                log.error("trace writer: %s", _clean(reason, 500))
                rows.append(_error_row(record, reason))
        for attempt in range(5):
            try:
                with self.ws.engine.begin() as conn:
                    conn.execute(sa.insert(TraceRow), rows)
                return
            except sa.exc.OperationalError as exc:  # e.g. a locked SQLite file under heavy load: retry
                log.warning("trace write failed (attempt %d): %s", attempt + 1, exc)
                time.sleep(0.1 * 2**attempt)
            except sa.exc.SQLAlchemyError:  # a row the database refuses (a duplicate id, say): one at a time
                self._write_each(rows)
                return
        log.error("dropping %d traces after 5 failed writes", len(rows))

    def _write_each(self, rows: list[dict[str, Any]]) -> None:
        """Rows one by one, after their batch failed: a refused row is stored as an error trace."""
        for row in rows:
            try:
                with self.ws.engine.begin() as conn:
                    conn.execute(sa.insert(TraceRow), [row])
                continue
            except sa.exc.SQLAlchemyError as exc:
                reason = f"trace could not be stored: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            record = json.loads(row["record"])
            if record.get("error", {}).get("type") == "TraceWriteError":
                log.error("trace writer: dropping %s: %s", row["id"], reason)
                continue
            log.error("trace writer: %s", _clean(reason, 500))
            try:
                with self.ws.engine.begin() as conn:
                    conn.execute(sa.insert(TraceRow), [_error_row(record, reason)])
            except sa.exc.SQLAlchemyError as exc:  # e.g. the id itself already exists
                log.error("trace writer: dropping %s: %s", row["id"], str(exc).splitlines()[0])


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
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Trace summaries in `view` (or `tenant`), newest first, filtered and paged."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}", hint=f"one of: {', '.join(OUTCOMES)}")
    if not 1 <= limit <= 1000 or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"limit must be 1..1000 and offset 0..{MAX_OFFSET}")
    query = sa.select(TraceRow).order_by(TraceRow.ts.desc(), TraceRow.id.desc())
    scope = _scope(tenant, view)
    if scope is not None:
        query = scope.where(query)
    for column, value in ((TraceRow.intent, intent), (TraceRow.outcome, outcome)):
        if value is not None:
            query = query.where(column == value)
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
        query = query.where(TraceRow.ts >= utc_stamp(since))
    if until:
        query = query.where(TraceRow.ts < utc_stamp(until))
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
        row.record, row.subject, row.key_id = json.dumps(record, ensure_ascii=False, sort_keys=True), alias, None
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
