"""The economics phase's like-for-like comparison: first answers, paired intervals, the per-tier breakdown."""

from __future__ import annotations

import pytest

from loopwright.demo.traffic import Served, by_tier, first_answers, paired


def served(request_id: str, *, turn: int = 1, accepted: bool = True, cost: float = 1.0, tier: str | None = "large",
           cache_hit: bool = False, latency_ms: float = 10.0) -> Served:
    return Served(t=0.0, phase="economics", request_id=request_id, kind="faq", intent="fees", channel="stable", tier=tier,
                  cache_hit=cache_hit, outcome="accepted" if accepted else "defect", accepted=accepted, flexpay=False,
                  correct=None, latency_ms=latency_ms, cost=cost, escalated=tier == "large", trace_id=f"tr_{request_id}.{turn}",
                  turn=turn)


def test_first_answers_are_each_requests_opening_turn_in_order():
    requests = [{"id": "q2"}, {"id": "q1"}]
    rows = [served("q1"), served("q1.2", turn=2), served("q2", accepted=False), served("q2.2", turn=2), served("q2r")]
    assert [r.trace_id for r in first_answers(rows, requests)] == ["tr_q2.1", "tr_q1.1"]


def test_paired_change_and_cost_cut_with_intervals():
    ids = [f"q{i}" for i in range(100)]
    control = [served(i, cost=1.0) for i in ids]
    # the router loses 5 answers and gains 2, at a tenth of the cost
    treated = [served(i, accepted=not (k < 5), cost=0.1, tier="small") for k, i in enumerate(ids)]
    treated[50:52] = [served(ids[50], cost=0.1), served(ids[51], cost=0.1)]
    control[50:52] = [served(ids[50], accepted=False), served(ids[51], accepted=False)]
    p = paired(control, treated)
    assert (p["n"], p["lost"], p["gained"], p["accepted"]) == (100, 5, 2, [98, 95])
    assert p["accuracy_change"] == pytest.approx(-0.03)
    low, high = p["accuracy_change_ci95"]
    assert low < -0.03 < high and high - low < 0.15
    assert p["cost_cut"] == pytest.approx(1 - (10 / 95) / (100 / 98), abs=1e-4)
    low, high = p["cost_cut_ci95"]
    assert low <= p["cost_cut"] <= high


def test_paired_identical_arms_have_a_zero_width_interval():
    arm = [served(f"q{i}", accepted=i % 3 > 0) for i in range(30)]
    p = paired(arm, arm)
    assert p["accuracy_change"] == 0 and p["accuracy_change_ci95"] == [0.0, 0.0] and p["cost_cut"] == 0


def test_paired_refuses_arms_over_different_requests():
    with pytest.raises(ValueError, match="same requests"):
        paired([served("q1")], [served("q2")])


def test_by_tier_splits_answers_by_what_answered_them():
    rows = [served("a", tier="small", cost=0.1), served("b", tier="small", accepted=False, cost=0.1),
            served("c", tier="large", cost=1.0, latency_ms=30.0), served("d", tier="small", cache_hit=True, cost=0.0),
            served("e", tier=None, cost=0.0)]
    tiers = by_tier(rows)
    assert set(tiers) == {"small", "large", "cache", "none"}
    assert tiers["small"]["share"] == pytest.approx(0.4) and tiers["small"]["accepted_rate"] == 0.5
    assert tiers["small"]["cost_per_accepted"] == pytest.approx(0.2)
    assert tiers["large"]["latency_p50_ms"] == 30.0 and tiers["cache"]["requests"] == 1
