"""The console's Overview data: served calls in time buckets, per slot version, and the release markers."""

from __future__ import annotations

import pytest

from loopwright.errors import InvalidInput
from loopwright.observe.timeline import by_version, markers, overview, served, timeline
from loopwright.registry.artifacts import register
from loopwright.registry.deployment import set_stable
from loopwright.release.releases import rollback
from loopwright.serving.trace_store import TraceWriter

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def call(n: int, minute: int, ref: str, *, outcome: str = "accepted", latency: float = 10.0, purpose: str = "serve") -> dict:
    return {"id": f"tr_{n:024d}", "ts": f"2026-11-01T00:{minute:02d}:00.000000Z", "principal": {"tenant": "acme"},
            "channel": "stable", "deployment_version": 1, "model": "m", "bundle": {"corpus": {"ref": ref, "digest": ref[-1] * 64}},
            "outcome": outcome, "latency_ms": latency, "cost": 0.001, "purpose": purpose, "cache": {"hit": False}}


@SQLITE
def test_buckets_versions_and_markers(workspace):
    writer = TraceWriter(workspace)
    for record in (call(1, 0, "corpus/c@1"), call(2, 1, "corpus/c@1", outcome="error"), call(3, 9, "corpus/c@2", latency=30.0),
                   call(4, 10, "corpus/c@2", outcome="defect"), call(5, 10, "corpus/c@2", purpose="golden")):
        writer.submit(record)
    writer.close()
    calls = served(workspace)
    assert [t.id for t in calls] == [f"tr_{n:024d}" for n in (1, 2, 3, 4)], "golden runs are not traffic"

    buckets = timeline(calls, buckets=2)
    assert [b["requests"] for b in buckets] == [2, 2] and buckets[0]["start"] == "2026-11-01T00:00:00Z"
    assert buckets[0]["availability"] == 0.5 and buckets[1]["defect_rate"] == 0.5 and buckets[1]["latency_ms"]["p50"] == 20.0
    versions = by_version(calls)["corpus"]
    assert [(v["ref"], v["requests"]) for v in versions] == [("corpus/c@1", 2), ("corpus/c@2", 2)]
    with pytest.raises(InvalidInput):
        timeline(calls, buckets=0)

    first = register(workspace, "policy", "p", {"policy.toml": b"\n"})
    second = register(workspace, "policy", "p", {"policy.toml": b"# two\n"})
    set_stable(workspace, "policy", first.ref)
    set_stable(workspace, "policy", second.ref)
    receipt = rollback(workspace, "policy", reason="test")
    marks = markers(workspace)
    assert [(m.action, m.slot) for m in marks] == [("deploy.set", "policy"), ("deploy.set", "policy"), ("rollback", "policy")]
    assert marks[-1].receipt == receipt.id and first.ref in marks[-1].label
    assert markers(workspace, since="2999-01-01T00:00:00Z") == []

    whole = overview(workspace, buckets=4)
    assert whole["overall"]["requests"] == 4 and len(whole["markers"]) == 3 and whole["objectives"] == []  # the live policy names none
    assert whole["stages"]["calls"] == 4 and whole["window"]["first"].startswith("2026-11-01T00:00")
