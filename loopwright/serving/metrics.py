"""Prometheus metrics for the gateway, on a registry of its own (one per app, so tests can make many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from loopwright.serving.trace import Trace

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "loopwright_requests", "Chat calls served.", ["tenant", "channel", "tier", "outcome", "cache"], registry=self.registry
        )
        self.latency = Histogram(
            "loopwright_request_seconds", "End-to-end latency of a chat call.", ["tier"], buckets=_LATENCY_BUCKETS, registry=self.registry
        )
        self.stage = Histogram(
            "loopwright_stage_seconds", "Latency of one request-path stage.", ["stage"], buckets=_LATENCY_BUCKETS, registry=self.registry
        )
        self.cost = Counter("loopwright_cost_usd", "Model cost in USD.", ["tenant", "tier"], registry=self.registry)
        self.tokens = Counter("loopwright_tokens", "Tokens read and written.", ["direction", "tier"], registry=self.registry)
        self.otel_dropped = Counter(
            "loopwright_otel_dropped_spans", "Spans not exported: the export queue was full or the receiver failed.",
            registry=self.registry,
        )

    def observe(self, trace: Trace) -> None:
        """Count one finished call."""
        tier = str(trace.tier or "none")
        tenant = trace.principal.tenant
        self.requests.labels(tenant, trace.channel, tier, trace.outcome, str(trace.cache.hit).lower()).inc()
        self.latency.labels(tier).observe(trace.latency_ms / 1e3)
        for stage, ms in trace.stages.items():
            self.stage.labels(stage).observe(ms / 1e3)
        self.cost.labels(tenant, tier).inc(trace.cost or 0.0)
        self.tokens.labels("in", tier).inc(trace.tokens.in_)
        self.tokens.labels("out", tier).inc(trace.tokens.out)

    def exposition(self, tenant: str | None = None) -> bytes:
        """The Prometheus text format; with `tenant`, samples labelled with another tenant are left out."""
        return generate_latest(self.registry if tenant is None else _OneTenant(self.registry, tenant))


class _OneTenant:
    """A view of a registry without the samples of other tenants (unlabelled samples are kept)."""

    def __init__(self, registry: CollectorRegistry, tenant: str):
        self.registry, self.tenant = registry, tenant

    def collect(self):
        for family in self.registry.collect():  # fresh objects on every collect: safe to filter in place
            family.samples = [s for s in family.samples if s.labels.get("tenant", self.tenant) == self.tenant]
            yield family
