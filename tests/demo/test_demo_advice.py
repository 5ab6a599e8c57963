"""The advisor's window in the demo: the calls served under the deployment live now, never a canary's."""

from __future__ import annotations

from loopwright.demo.advice import live_traffic
from loopwright.demo.traffic import Served


def served(i: int, channel: str) -> Served:
    return Served(t=float(i), phase="p", request_id=f"r{i}", kind="faq", intent="fees", channel=channel, tier="large",
                  cache_hit=False, outcome="accepted", accepted=True, flexpay=False, correct=None, latency_ms=1.0,
                  cost=0.0, escalated=False, trace_id=f"tr{i}")


def test_the_window_starts_after_the_last_canary_call():
    rows = [served(0, "stable"), served(1, "canary"), served(2, "stable"), served(3, "canary"), served(4, "stable"),
            served(5, "stable")]
    assert [r.trace_id for r in live_traffic(rows)] == ["tr4", "tr5"]


def test_before_any_release_the_window_is_all_traffic():
    rows = [served(i, "stable") for i in range(3)]
    assert live_traffic(rows) == rows
    assert live_traffic([]) == []
