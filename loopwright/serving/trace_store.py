"""The trace store: the request path's last stage writes each call's `Trace` here, off the response path.

`TraceWriter` queues records and a background thread inserts them in batches (every 20 ms);
`close()` drains the queue, so a server stopped with SIGTERM loses none.
`load_traces` reads them back, typed, for everything that learns from traffic
(canary analysis, reports, curation). Why here and not in `observe/`: the
gateway writes traces and the release plane reads them, and both sit below
observe's views (`loopwright.observe.traces`: scoped queries, feedback,
subject export and erasure).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import utc_now, utc_stamp
from loopwright.serving.trace import Trace
from loopwright.store.schema import TraceRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)


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
        conversation=record.get("conversation"),
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
        model="unknown", conversation=None, intent=None, tier=None, cache_hit=False, outcome="error",
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

    Calls append to a list under a lock; every `interval_s` (20 ms) the writer thread
    takes everything gathered and inserts it in one transaction (in chunks of `batch`
    rows). Why not a queue with a wake-up per trace: at pass-through rates every `put`
    notified the writer, which woke, took the GIL from the request path and wrote a few
    rows per transaction; py-spy gave the wake-ups and the small inserts a quarter of
    the gateway's CPU (bench/README.md). After `idle_polls` empty intervals the writer
    sleeps until the next submit wakes it. `flush` and `close` cut the gathering short,
    so neither waits the interval out.

    The thread never dies of a record: one that cannot be stored (text that is not
    valid Unicode, a value too long for its column) is replaced by a minimal error
    trace that says why, and the rest of its batch is written as usual. `alive`
    is what `/healthz` reports: a writer that stopped anyway means no traces.
    """

    def __init__(self, ws: Workspace, *, max_queue: int = 50_000, batch: int = 500, interval_s: float = 0.02,
                 idle_polls: int = 50):
        self.ws = ws
        self._pending: list[dict[str, Any]] = []
        self._max_queue = max_queue
        self._batch = batch
        self._interval_s = interval_s
        self._idle_polls = idle_polls  # empty intervals in a row before the writer sleeps until woken
        self._cond = threading.Condition()
        self._submitted = 0  # traces queued so far; FIFO, so "written >= n" means the first n are in
        self._written = 0
        self._hurry = False  # a flush or close is waiting: write what is gathered now
        self._asleep = False  # the writer waits for a submit to wake it (no traffic for `idle_polls` intervals)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether queued traces are being written (false once the thread stopped, or while closing)."""
        return self._thread.is_alive() and not self._closing

    def submit(self, record: dict[str, Any]) -> None:
        """Queue a trace; blocks only if `max_queue` are waiting (back-pressure, never loss)."""
        with self._cond:
            while len(self._pending) >= self._max_queue and self._thread.is_alive():
                self._cond.wait(0.1)
            self._pending.append(record)
            self._submitted += 1
            if self._asleep:  # only after a quiet spell: under traffic the writer wakes on its own timer
                self._asleep = False
                self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every trace queued before this call is in the database (later ones don't delay it)."""
        with self._cond:
            target = self._submitted
            self._hurry = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._written >= target, timeout=timeout)

    def close(self) -> None:
        """Drain the queue and stop the thread."""
        with self._cond:
            self._closing = self._hurry = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        empty = 0
        while True:
            with self._cond:
                if empty >= self._idle_polls:
                    self._asleep = True
                    self._cond.wait_for(lambda: self._pending or self._closing)
                    self._asleep, empty = False, 0
                # Gather for one interval. A submit does not wake the writer: on one core, waking a thread from
                # the request path cost a context switch per wake-up (py-spy: 6% of the CPU in `notify`).
                self._cond.wait_for(lambda: self._hurry, timeout=self._interval_s)
                items, self._pending = self._pending, []
                self._hurry = self._closing
                if not items:
                    if self._closing:
                        return
                    empty += 1
                    continue
                empty = 0
                self._cond.notify_all()  # submitters held back by a full queue
            for i in range(0, len(items), self._batch):
                chunk = items[i:i + self._batch]
                try:
                    self._write(chunk)
                except Exception:  # a bug in this module: log it, keep the thread (and every later trace)
                    log.exception("trace writer: %d traces not written", len(chunk))
                finally:
                    with self._cond:
                        self._written += len(chunk)
                        self._cond.notify_all()

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


def _window(query, since: str | None, until: str | None):
    if since:
        query = query.where(TraceRow.ts >= utc_stamp(since))
    if until:
        query = query.where(TraceRow.ts < utc_stamp(until))
    return query


def count_records(ws: Workspace, *, since: str | None = None, until: str | None = None) -> int:
    """How many traces `load_records` would give for the same window."""
    with ws.session() as s:
        return s.execute(_window(sa.select(sa.func.count()).select_from(TraceRow), since, until)).scalar_one()


def load_records(ws: Workspace, *, since: str | None = None, until: str | None = None, ids: Sequence[str] | None = None):
    """Full trace records (with current outcome) for reports and analysis."""
    query = _window(sa.select(TraceRow.record, TraceRow.outcome).order_by(TraceRow.ts), since, until)
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
