"""Canary statistics on synthetic traces with known truth."""

import numpy as np
import pytest

from loopwright.release.analysis import Focus, analyse, hodges_lehmann, rate_test
from loopwright.serving.router import CanaryRules
from loopwright.serving.trace import RetrievalSummary, SpanRef, Trace


def _records(rng, n, defect_p, latency_scale, cost=0.001):
    return [
        Trace.from_dict({
            "id": f"tr_{i}", "ts": "2026-12-01T00:00:00.000000Z", "principal": {"tenant": "t"}, "channel": "canary",
            "deployment_version": 1, "model": "m",
            "outcome": "defect" if rng.random() < defect_p else "accepted",
            "latency_ms": float(rng.gamma(2.0, latency_scale)),
            "cost": cost,
            "route": {"escalated": False},
            "validators": [],
        })
        for i in range(n)
    ]


def test_waits_for_the_minimum_sample():
    rng = np.random.default_rng(0)
    result = analyse(_records(rng, 30, 0.5, 10), _records(rng, 500, 0.0, 10), CanaryRules(min_samples=50))
    assert result.decision == "wait" and "canary 30" in result.reason


def test_defect_regression_rolls_back_and_names_the_metric():
    rng = np.random.default_rng(1)
    result = analyse(_records(rng, 400, 0.20, 10), _records(rng, 1200, 0.05, 10), CanaryRules(min_samples=100))
    assert result.decision == "rollback"
    assert "defect_rate" in result.reason
    defect = next(m for m in result.metrics if m.metric == "defect_rate")
    assert defect.regressed and defect.p_value < result.alpha_per_test


def test_latency_regression_needs_significance_and_size():
    rng = np.random.default_rng(2)
    slower = analyse(_records(rng, 400, 0.05, 20), _records(rng, 400, 0.05, 10), CanaryRules(min_samples=100))
    assert slower.decision == "rollback" and "latency_ms" in slower.reason
    # 3% slower is within the 25% tolerance: real but not a regression.
    rng = np.random.default_rng(3)
    slight = analyse(_records(rng, 2000, 0.05, 10.3), _records(rng, 2000, 0.05, 10), CanaryRules(min_samples=100))
    assert next(m for m in slight.metrics if m.metric == "latency_ms").regressed is False


def test_an_absolute_latency_floor_tolerates_a_small_rise_and_not_a_large_one():
    # gamma(2, scale): median ~1.68 x scale ms. 20 -> 40 ms median doubles: a regression at 25%, not under a 50 ms floor
    rng = np.random.default_rng(5)
    canary, stable = _records(rng, 400, 0.05, 24), _records(rng, 400, 0.05, 12)
    assert analyse(canary, stable, CanaryRules(min_samples=100)).decision == "rollback"
    floored = analyse(canary, stable, CanaryRules(min_samples=100, min_latency_increase_ms=50))
    latency = next(m for m in floored.metrics if m.metric == "latency_ms")
    assert floored.decision == "advance" and latency.tolerance == 50 and latency.p_value < floored.alpha_per_test
    # 20 -> 200 ms is past the floor: still rolled back
    rng = np.random.default_rng(6)
    slow = analyse(_records(rng, 400, 0.05, 120), _records(rng, 400, 0.05, 12), CanaryRules(min_samples=100, min_latency_increase_ms=50))
    assert slow.decision == "rollback" and "latency_ms" in slow.reason


def test_identical_traffic_advances():
    rng = np.random.default_rng(4)
    result = analyse(_records(rng, 300, 0.05, 10), _records(rng, 900, 0.05, 10), CanaryRules(min_samples=100))
    assert result.decision == "advance"


def test_hodges_lehmann_recovers_a_known_shift():
    rng = np.random.default_rng(5)
    stable = rng.normal(100, 10, 500)
    canary = rng.normal(100, 10, 500) + 7.0
    shift, low, high = hodges_lehmann(canary, stable, 0.05)
    assert abs(shift - 7.0) < 2.0 and low < 7.0 < high and low > 0


def test_rate_test_is_one_sided():
    better = rate_test("defect_rate", 5, 500, 50, 500, alpha=0.05, min_increase=0.0, critical=True)
    assert not better.regressed and better.p_value > 0.5


@pytest.mark.parametrize("bad", [{"critical": ["nope"]}, {"steps": [0.5, 0.1]}, {"steps": [0.0, 1.0]}])
def test_canary_rules_are_validated(bad):
    with pytest.raises(ValueError):
        CanaryRules(**bad)


def _touching(records, share, rng):
    """Make a `share` of records have read a changed document (the focus)."""
    for r in records:
        doc = "changed" if rng.random() < share else "unchanged"
        r.retrieval = RetrievalSummary(commit="c", spans=[SpanRef(doc_id=doc, start=0, end=1, score=1.0)])
    return records


def _touched(r) -> bool:
    return r.retrieval.spans[0].doc_id == "changed"


def _focus(on_stable=False):
    return Focus("read a changed document", _touched, on_stable)


def test_a_change_nobody_has_read_yet_waits_instead_of_advancing():
    rng = np.random.default_rng(6)
    canary, stable = _touching(_records(rng, 400, 0.05, 10), 0.03, rng), _touching(_records(rng, 400, 0.05, 10), 0.03, rng)
    result = analyse(canary, stable, CanaryRules(min_samples=100, min_focus_samples=30), focus=_focus())
    assert result.decision == "wait" and "read a changed document" in result.reason
    # The same traffic without a focus (a router change, say) is judged at once.
    assert analyse(canary, stable, CanaryRules(min_samples=100)).decision == "advance"


def test_a_changed_document_waits_for_stable_readers_and_an_added_one_does_not():
    rng = np.random.default_rng(8)
    canary = _touching(_records(rng, 400, 0.05, 10), 0.2, rng)  # 80 canary readers
    stable = _touching(_records(rng, 400, 0.05, 10), 0.01, rng)  # a handful on stable
    rules = CanaryRules(min_samples=100, min_focus_samples=30, min_segment_samples=10)
    assert sum(map(_touched, stable)) < 10
    waiting = analyse(canary, stable, rules, focus=_focus(on_stable=True))
    assert waiting.decision == "wait" and "stable requests that read a changed document" in waiting.reason
    # A document only the candidate has: no stable reader can come, so the other tests judge it now.
    assert analyse(canary, stable, rules, focus=_focus(on_stable=False)).decision == "advance"


def test_a_regression_confined_to_what_changed_is_caught_by_the_focus_test():
    rng = np.random.default_rng(7)
    canary, stable = _touching(_records(rng, 1000, 0.05, 10), 0.04, rng), _touching(_records(rng, 1000, 0.05, 10), 0.04, rng)
    for r in canary:
        if _touched(r) and rng.random() < 0.7:
            r.outcome = "defect"  # the stale table: most answers that read it are wrong
    result = analyse(canary, stable, CanaryRules(min_samples=100, min_focus_samples=30), focus=_focus())
    assert result.decision == "rollback"
    focused = next(m for m in result.metrics if m.metric == "defect_rate[read a changed document]")
    assert focused.regressed
    # The overall rate moved too little to trip on its own.
    assert not next(m for m in result.metrics if m.metric == "defect_rate").regressed


def _cached(rng, n, hit_share, miss_scale, *, consults=True, defect_p=0.05, vector_share=0.0):
    """Traffic through a response cache: a hit answers in ~1 ms at no cost, a miss takes the whole path, less the
    encoder's share of it when the triage vector was cached (`vector_share` of the misses)."""
    records = []
    for r in _records(rng, n, defect_p, miss_scale):
        hit = consults and rng.random() < hit_share
        vector = not hit and rng.random() < vector_share
        latency = float(rng.gamma(2.0, 0.5)) if hit else r.latency_ms * (0.3 if vector else 1.0)
        records.append(_with_cache(r, hit, consults, latency_ms=latency, triage={"intent": "fees", "cached": vector}))
    return records


def _with_cache(record, hit: bool, consults: bool, **update):
    body = record.model_dump(mode="json", by_alias=True)
    body.update(cache={"hit": hit}, stages={"cache": 0.2} if consults else {}, **update)
    if hit:
        body["cost"] = 0.0
    return Trace.from_dict(body)


def test_a_canary_with_a_colder_cache_is_judged_on_its_misses():
    """Each side's cache starts cold at a release and warms with its own traffic: a 10% canary hits less than
    stable. The same per-call work must advance, though over all calls it reads as slower and dearer."""
    rng = np.random.default_rng(6)
    canary, stable = _cached(rng, 300, 0.08, 10), _cached(rng, 2700, 0.40, 10)
    result = analyse(canary, stable, CanaryRules(min_samples=100, critical=("defect_rate", "latency_ms", "cost")))
    assert result.decision == "advance", result.reason
    latency = next(m for m in result.metrics if m.metric == "latency_ms")
    assert latency.among.startswith("uncached calls (a cache answered or gave the vector: canary") and latency.n_canary < 300 and latency.n_stable < 2700
    # Over all calls the hit share alone would have rolled it back: the stratum is what makes the test honest.
    every = analyse([_with_cache(c, False, False) for c in canary], [_with_cache(s, False, False) for s in stable],
                    CanaryRules(min_samples=100))
    assert every.decision == "rollback" and "latency_ms" in every.reason


def test_a_genuinely_slower_canary_is_still_rolled_back_on_its_misses():
    rng = np.random.default_rng(7)
    result = analyse(_cached(rng, 300, 0.08, 14), _cached(rng, 2700, 0.40, 10), CanaryRules(min_samples=100))
    assert result.decision == "rollback" and "latency_ms" in result.reason and "uncached calls" in result.reason


def test_a_new_adapters_cold_vector_cache_is_no_regression_but_its_slower_encoder_is():
    """A triage adapter's query vectors are cached per adapter, cold at its release, while the base's are warm from
    all earlier traffic: among response-cache misses stable skips the encoder far more often."""
    rules = CanaryRules(min_samples=100)
    rng = np.random.default_rng(9)
    canary, stable = _cached(rng, 300, 0.05, 10, vector_share=0.1), _cached(rng, 2700, 0.24, 10, vector_share=0.4)
    same = analyse(canary, stable, rules)
    assert same.decision == "advance", same.reason
    # Blind to the vector cache (response-cache misses only), the same per-call work reads as a regression.
    def blind(traces):
        return [Trace.from_dict({**t.model_dump(mode="json", by_alias=True), "triage": {"intent": "fees", "cached": False}}) for t in traces]
    assert analyse(blind(canary), blind(stable), rules).decision == "rollback"
    rng = np.random.default_rng(10)
    slower = analyse(_cached(rng, 300, 0.05, 14, vector_share=0.1), _cached(rng, 2700, 0.24, 10, vector_share=0.4), rules)
    assert slower.decision == "rollback" and "latency_ms" in slower.reason


def test_a_canary_that_stops_consulting_the_cache_is_compared_over_all_calls():
    """The hits a candidate gives up (a router with the cache off) are its own regression, not a cold start."""
    rng = np.random.default_rng(8)
    result = analyse(_cached(rng, 300, 0.0, 10, consults=False), _cached(rng, 2700, 0.40, 10), CanaryRules(min_samples=100))
    latency = next(m for m in result.metrics if m.metric == "latency_ms")
    assert latency.among.startswith("all calls (the canary consults the cache on 0%") and latency.regressed
    assert result.decision == "rollback"
