"""OpenTelemetry export: every finished trace as a span tree over OTLP/HTTP, off the request path.

    Gateway.record(call) -> SpanExport.submit(trace)      # put_nowait on a bounded queue: never blocks
      exporter thread   -> spans_of(trace)                 # root "chat MODEL", one child per stage
                        -> OTLPSpanExporter.export(batch)  # to [observe] otlp_endpoint (Phoenix, a collector)

The spans are built from the typed `Trace` after the call, not by live
instrumentation, so a request pays one queue insert: nothing in export can
slow it, and a full queue (a receiver that is down or slow) drops the trace's
spans and counts them (`loopwright_otel_dropped_spans` in `/metrics`).

Attributes follow the OpenTelemetry GenAI semantic conventions (`gen_ai.*`:
operation, models, token usage, finish reason) on the root and the `generate`
span, and name loopwright's own decisions under `loopwright.*` (bundle,
retrieval fingerprint, intent, tier, cache, policies, outcome). The OTel trace
id is the loopwright trace id (`tr_` + 24 hex digits, left-padded to 128
bits), so a span found in Phoenix leads to `loopwright trace show`, and span
ids are derived from it, so a trace exported twice (live, then by
`export_traces`) is the same spans twice, not a second tree.

`export_traces` sends stored traces (`loopwright trace export`, and the demo
when an endpoint is configured): synchronously, batch by batch, stopping at the
first batch the receiver refuses, since the store keeps every trace to send again.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context
from tenacity import retry, retry_if_exception_type, stop_before_delay, wait_exponential

from loopwright import __version__
from loopwright.errors import LoopwrightError
from loopwright.serving.trace import Trace
from loopwright.serving.trace_store import count_records, load_traces

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

_STOP = object()


class _TraceIds(RandomIdGenerator):
    """The ids of the trace being converted: its own trace id, and span ids counted from it (the same on every export)."""

    def __init__(self) -> None:
        self.trace_id = 0
        self._span = 0

    def start(self, trace_id: int) -> None:
        self.trace_id, self._span = trace_id, 0

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        self._span += 1
        digest = hashlib.blake2b(f"{self.trace_id:032x}/{self._span}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") or 1  # 0 is OTel's invalid span id


class _Collect(SpanProcessor):
    """Keeps the spans that end, for the exporter thread to send as one batch."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def otel_trace_id(trace_id: str) -> int:
    """The 128-bit OTel trace id of a loopwright trace id (`tr_` + hex digits)."""
    return int(trace_id.removeprefix("tr_"), 16)


def _ns(ts: str) -> int:
    return int(datetime.fromisoformat(ts).timestamp() * 1e9)


def _root_attributes(t: Trace) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "loopwright",
        "gen_ai.request.model": t.model,
        "gen_ai.usage.input_tokens": t.tokens.in_,
        "gen_ai.usage.output_tokens": t.tokens.out,
        "loopwright.trace_id": t.id,
        "loopwright.channel": t.channel,
        "loopwright.deployment_version": t.deployment_version,
        "loopwright.tenant": t.principal.tenant,
        "loopwright.outcome": t.outcome,
        "loopwright.cache.hit": t.cache.hit,
        "loopwright.cost_usd": t.cost,
        "loopwright.latency_ms": t.latency_ms,
        "loopwright.policies": [p.name for p in t.policies],
        "loopwright.canary_slots": list(t.canary_slots),
    }
    for slot, version in t.bundle.items():
        attrs[f"loopwright.bundle.{slot}"] = version.ref
    if t.tier:
        attrs["loopwright.tier"] = t.tier
    if t.triage and t.triage.intent:
        attrs["loopwright.intent"] = t.triage.intent
        attrs["loopwright.intent.confidence"] = t.triage.confidence or 0.0
    if t.retrieval:
        attrs["loopwright.retrieval.fingerprint"] = t.retrieval.fingerprint
        attrs["loopwright.retrieval.commit"] = t.retrieval.commit_ref or t.retrieval.commit
    if t.route:
        attrs["loopwright.route.escalated"] = t.route.escalated
    if t.decline_reason:
        attrs["loopwright.decline_reason"] = t.decline_reason
    if t.citations:
        attrs["loopwright.citations"] = [f"{c.doc_id}:{c.start}-{c.end}" for c in t.citations]
    return attrs


def _generation_attributes(t: Trace) -> dict[str, Any]:
    generation = t.generation or {}
    model = generation.get("model") or t.tier or t.model
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": str(generation.get("backend") or "loopwright"),
        "gen_ai.request.model": str(model),
        "gen_ai.response.model": str(model),
        "gen_ai.usage.input_tokens": t.tokens.in_,
        "gen_ai.usage.output_tokens": t.tokens.out,
    }


def spans_of(t: Trace, tracer, ids: _TraceIds) -> None:
    """Start and end the span tree of one trace on `tracer` (its processor collects them).

    The stages ran one after another, so each child starts where the one before
    ended; their durations are the trace's own stage timings.
    """
    ids.start(otel_trace_id(t.id))
    start = _ns(t.ts)
    end = start + int(max(t.latency_ms, sum(t.stages.values())) * 1e6)
    root = tracer.start_span(f"chat {t.model}", context=Context(), kind=SpanKind.SERVER, start_time=start,
                             attributes=_root_attributes(t))
    if t.outcome == "error":
        root.set_status(Status(StatusCode.ERROR, t.error.message if t.error else "error"))
    parent = set_span_in_context(root)
    at = start
    for stage, ms in t.stages.items():
        attrs = _generation_attributes(t) if stage == "generate" else {}
        child = tracer.start_span(stage, context=parent, kind=SpanKind.INTERNAL, start_time=at, attributes=attrs)
        at += int(ms * 1e6)
        child.end(end_time=at)
    root.end(end_time=max(end, at))


class SpanSender:
    """Converts traces to span trees and sends them to one OTLP/HTTP endpoint, a batch per call."""

    def __init__(self, endpoint: str, *, service_name: str = "loopwright", timeout_s: float = 5.0,
                 exporter: SpanExporter | None = None):
        self.url = _traces_url(endpoint)
        self._exporter = exporter or OTLPSpanExporter(endpoint=self.url, timeout=timeout_s)
        self._ids = _TraceIds()
        self._collect = _Collect()
        resource = Resource.create({
            "service.name": service_name,
            "service.version": __version__,
            "openinference.project.name": service_name,  # Arize Phoenix files spans by this project name
        })
        provider = TracerProvider(resource=resource, id_generator=self._ids)
        provider.add_span_processor(self._collect)
        self._tracer = provider.get_tracer("loopwright", __version__)

    def send(self, traces: Sequence[Trace]) -> tuple[int, bool]:
        """(spans made, whether the receiver accepted them) for one batch."""
        for t in traces:
            try:
                spans_of(t, self._tracer, self._ids)
            except Exception:  # noqa: BLE001 - one odd trace must not stop the export of the rest
                log.exception("otel: trace %s not converted", t.id)
        spans, self._collect.ended = self._collect.ended, []
        if not spans:
            return 0, True
        try:
            result = self._exporter.export(spans)
        except Exception as exc:  # noqa: BLE001 - a receiver's failure is counted, never raised into the server
            log.warning("otel: export failed: %s", exc)
            result = SpanExportResult.FAILURE
        return len(spans), result is SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._exporter.shutdown()


class SpanExport:
    """Exports finished traces as OTLP spans from one background thread; `submit` never blocks.

    `on_drop(n)` is told how many spans were lost: the queue was full, or the
    receiver refused or could not be reached (the exporter retries within its
    timeout first).
    """

    def __init__(self, endpoint: str, *, service_name: str = "loopwright", max_queue: int = 2048,
                 batch: int = 64, timeout_s: float = 5.0, on_drop: Callable[[int], None] | None = None,
                 exporter: SpanExporter | None = None):
        self._sender = SpanSender(endpoint, service_name=service_name, timeout_s=timeout_s, exporter=exporter)
        self._on_drop = on_drop or (lambda n: None)
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._batch = batch
        self._thread = threading.Thread(target=self._run, name="otel-export", daemon=True)
        self._thread.start()

    def submit(self, trace: Trace) -> None:
        """Queue a finished trace for export; a full queue drops it (counted), never waits."""
        try:
            self._queue.put_nowait(trace)
        except queue.Full:
            self._on_drop(1 + len(trace.stages))

    def close(self, timeout_s: float = 10.0) -> None:
        """Export what is queued, then stop."""
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        self._sender.shutdown()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < self._batch and items[-1] is not _STOP:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            traces = [t for t in items if t is not _STOP]
            if traces:
                spans, accepted = self._sender.send(traces)
                if not accepted:
                    log.warning("otel: %d spans not accepted by the receiver", spans)
                    self._on_drop(spans)
            if items[-1] is _STOP:
                return


class _Refused(Exception):
    """The receiver did not accept a batch of `export_traces`."""


@dataclass(frozen=True)
class Exported:
    """What `export_traces` sent."""

    url: str
    traces: int
    spans: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_traces(ws: Workspace, endpoint: str, *, since: str | None = None, until: str | None = None,
                  service_name: str | None = None, batch: int = 256, timeout_s: float = 60.0,
                  progress: Callable[[str, int, int], None] | None = None) -> Exported:
    """Send the stored traces in [since, until) to `endpoint` as span trees; `progress("export", done, total)` per batch.

    A receiver that pushes back (Phoenix answers 503 while its ingestion queue
    is full) gets the batch again, with backoff, for up to `timeout_s`; past
    that the export stops with an error saying how
    many were sent: nothing is lost, the traces stay in the store.
    """
    sender = SpanSender(endpoint, service_name=service_name or ws.settings.observe.service_name,
                        timeout_s=min(timeout_s, 10.0))
    sent = spans = 0
    total = count_records(ws, since=since, until=until)

    # a refused batch is sent again after 1, 2, 4, 8, then 10 s, as long as the next try starts within timeout_s
    @retry(retry=retry_if_exception_type(_Refused), stop=stop_before_delay(timeout_s),
           wait=wait_exponential(multiplier=1, max=10), reraise=True)
    def attempt(traces: list[Trace]) -> int:
        made, accepted = sender.send(traces)
        if not accepted:
            raise _Refused
        return made

    def send(traces: list[Trace]) -> None:
        nonlocal sent, spans
        try:
            made = attempt(traces)
        except _Refused:
            raise LoopwrightError(
                f"the OTLP receiver at {sender.url} did not accept spans within {timeout_s:g} s; "
                f"{sent} traces were sent before it",
                hint="check that it is running and takes OTLP/HTTP (Phoenix: `phoenix serve`, port 6006), "
                     "or allow it longer (--timeout-s)") from None
        sent, spans = sent + len(traces), spans + made
        if progress:
            progress("export", sent, total)

    # the exporter logs every refused attempt; here a refusal is retried, and the last one raised
    exporter_log = logging.getLogger("opentelemetry.exporter.otlp")
    exporter_level = exporter_log.level
    exporter_log.setLevel(logging.CRITICAL)
    pending: list[Trace] = []
    try:
        for trace in load_traces(ws, since=since, until=until):
            pending.append(trace)
            if len(pending) == batch:
                send(pending)
                pending = []
        if pending:
            send(pending)
    finally:
        sender.shutdown()
        exporter_log.setLevel(exporter_level)
    return Exported(sender.url, sent, spans)


def _traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of an endpoint given as a base (`http://host:4318`) or in full (`.../v1/traces`)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"
