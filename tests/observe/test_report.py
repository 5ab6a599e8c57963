"""Economics and quality per window and per deployment: the numbers `loopwright report` prints."""

from __future__ import annotations

import pytest

from loopwright.observe.report import report, summarise
from loopwright.serving.trace_store import TraceWriter


def rec(n: int, *, latency: float, cost: float, outcome: str = "answered", hit: bool = False, escalated: bool = False,
        version: int = 1, channel: str = "stable") -> dict:
    return {
        "id": f"tr_{n:024d}",
        "ts": f"2026-11-0{1 + n // 100}T00:00:{n % 60:02d}.000000Z",
        "principal": {"tenant": "acme"},
        "channel": channel,
        "deployment_version": version,
        "model": "m",
        "route": {"tier": "large" if escalated else "small", "escalated": escalated},
        "cache": {"hit": hit},
        "outcome": outcome,
        "latency_ms": latency,
        "cost": cost,
    }


def test_summarise_computes_every_rate_and_cost_per_accepted():
    records = (
        [rec(i, latency=10.0, cost=0.001, outcome="accepted") for i in range(6)]
        + [rec(10 + i, latency=20.0, cost=0.002, outcome="defect", escalated=True) for i in range(2)]
        + [rec(20, latency=30.0, cost=0.0, outcome="declined")]
        + [rec(21, latency=1000.0, cost=0.0, hit=True)]
    )
    s = summarise(records)
    assert s["requests"] == 10 and s["accepted"] == 6
    assert s["latency_ms"]["p50"] == 10.0 and s["latency_ms"]["p95"] == 563.5 and s["latency_ms"]["p99"] == 912.7
    assert s["cache_hit_rate"] == 0.1 and s["escalation_rate"] == 0.2 and s["decline_rate"] == 0.1
    assert s["defect_rate"] == 0.25  # 2 defects of 8 judged; unjudged answers do not count
    assert s["total_cost"] == pytest.approx(0.01) and s["cost_per_accepted"] == pytest.approx(0.01 / 6, abs=1e-6)


def test_summarise_without_judgements_or_traffic():
    assert summarise([]) == {"requests": 0}
    s = summarise([rec(1, latency=5.0, cost=0.01)])
    assert s["defect_rate"] is None and s["cost_per_accepted"] is None and s["accepted"] == 0


def test_report_groups_by_deployment_and_channel_within_the_window(workspace):
    records = [
        *(rec(i, latency=10.0, cost=0.001, outcome="accepted", version=1) for i in range(4)),
        *(rec(100 + i, latency=12.0, cost=0.002, outcome="accepted", version=2) for i in range(3)),
        *(rec(110 + i, latency=40.0, cost=0.004, outcome="defect", version=2, channel="canary") for i in range(2)),
    ]
    writer = TraceWriter(workspace)
    for r in records:
        writer.submit(r)
    writer.close()

    full = report(workspace)
    assert full["overall"]["requests"] == 9
    groups = {(d["deployment_version"], d["channel"]): d for d in full["deployments"]}
    assert set(groups) == {(1, "stable"), (2, "stable"), (2, "canary")}
    assert groups[(2, "canary")]["defect_rate"] == 1.0 and groups[(2, "stable")]["defect_rate"] == 0.0
    assert groups[(1, "stable")]["cost_per_accepted"] == pytest.approx(0.001)

    window = report(workspace, since="2026-11-02T00:00:00Z")
    assert window["since"] == "2026-11-02T00:00:00Z" and window["overall"]["requests"] == 5
    assert {d["deployment_version"] for d in window["deployments"]} == {2}
    assert report(workspace, until="2026-10-31T23:59:59Z")["overall"] == {"requests": 0}
