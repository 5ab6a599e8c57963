"""Prometheus metrics: one registry per gateway, counters and histograms from each trace."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from loopwright.serving.metrics import Metrics
from loopwright.serving.trace import Trace


def record(**over) -> Trace:
    return Trace.from_dict({
        "id": "tr_1",
        "ts": "2026-12-01T00:00:00.000000Z",
        "model": "m",
        "deployment_version": 1,
        "principal": {"tenant": "acme"},
        "channel": "stable",
        "tier": "small",
        "outcome": "answered",
        "cache": {"hit": False},
        "latency_ms": 4.0,
        "stages": {"triage": 1.0, "retrieval": 2.0},
        "cost": 0.25,
        "tokens": {"in": 100, "out": 20},
        **over,
    })


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_each_trace_counts_once_with_its_labels():
    metrics = Metrics()
    metrics.observe(record())
    metrics.observe(record(cache={"hit": True}, cost=0.0, tokens={"in": 0, "out": 0}, stages={}))
    metrics.observe(record(outcome="error", tier=None, latency_ms=2000.0, cost=0.5, principal={"tenant": "globex"}))
    s = samples(metrics)
    base = {"tenant": "acme", "channel": "stable", "tier": "small", "outcome": "answered"}
    assert s[("loopwright_requests_total", tuple(sorted({**base, "cache": "false"}.items())))] == 1
    assert s[("loopwright_requests_total", tuple(sorted({**base, "cache": "true"}.items())))] == 1
    error = {"tenant": "globex", "channel": "stable", "tier": "none", "outcome": "error", "cache": "false"}
    assert s[("loopwright_requests_total", tuple(sorted(error.items())))] == 1
    assert s[("loopwright_request_seconds_count", (("tier", "small"),))] == 2
    assert s[("loopwright_request_seconds_bucket", (("le", "0.005"), ("tier", "small")))] == 2
    assert s[("loopwright_request_seconds_bucket", (("le", "1.0"), ("tier", "none")))] == 0
    assert s[("loopwright_stage_seconds_sum", (("stage", "retrieval"),))] == 0.004  # two traces with 2 ms each
    assert s[("loopwright_cost_usd_total", (("tenant", "acme"), ("tier", "small")))] == 0.25
    assert s[("loopwright_cost_usd_total", (("tenant", "globex"), ("tier", "none")))] == 0.5
    assert s[("loopwright_tokens_total", (("direction", "in"), ("tier", "small")))] == 100


def test_each_gateway_has_its_own_registry():
    a, b = Metrics(), Metrics()
    a.observe(record())
    assert sum(v for (name, _), v in samples(b).items() if name == "loopwright_requests_total") == 0
    assert sum(v for (name, _), v in samples(a).items() if name == "loopwright_requests_total") == 1
