"""Automated canary analysis: is the canary worse than stable, with evidence a statistician would accept?

Rates (defect, decline, escalation) use a one-sided Fisher exact test;
latency and cost a one-sided Mann-Whitney U test with a Hodges-Lehmann shift
and its distribution-free confidence interval, as Kayenta does. A metric
regresses only when the test is significant AND the effect is larger than the
policy tolerates, so a tiny but real shift does not roll back a release.

Defects are also tested per intent segment (as the triage model labelled the
request) and, when the caller knows it, on the requests the change can touch
(for a corpus release: those that cited a document it changed), since a change
that breaks one kind of question (a savings-rate table, say) moves the overall
rate little and its own segment a lot. Rates count conversations, not calls (`per_conversation`): a
customer's rephrasings of one badly answered question are one piece of evidence, not several.

First-contact resolution (`fcr`, when critical) is judged per conversation, not per request: the
canary's conversations (first turn on the canary) against stable's, under the policy's `[outcomes]`
rules (`loopwright.serving.conversations`), with a one-sided Fisher test that the canary resolves fewer;
it regresses when significant and lower by at least `min_fcr_drop`. It is tested once each side has
`min_conversations`, and otherwise left to the other metrics (a release is never held for it alone).

Each release step is looked at once, when both sides have `min_samples`
requests and, for a change with a focus, when `min_focus_samples` canary
requests have touched what it changed: a corpus release whose changed
documents no request has read yet has no evidence to advance on (measured
in the demo: a stale savings table reached by 4% of traffic was promoted
after 400 requests, 18 of which had read it). When a changed document is
served by stable too (its text changed; not one added or newly certified),
the step also waits for `min_segment_samples` stable requests that read it:
without that the focus test was dropped, and the demo's stale rate sheet,
read by fewer than 10 stable requests at the step in one run (11 in the one
before), was promoted. Alpha is split (weighted
Bonferroni) so the chance that an A/A canary is rolled back stays under
`alpha`: per step, half goes to the focus test, the change's own
hypothesis, and the rest is divided among the critical metrics and the
intent segments (all of it when there is no focus).

Latency and cost compare like for like (`like_for_like`): the calls of each side that did the whole request
path, missing the response cache and running the encoder for triage. A response-cache hit skips every stage
after the cache and costs nothing, and that cache keys on the bundle, so each side's starts cold when a release
starts and warms with its own traffic: stable, on 90% of the callers, meets its repeated questions again far
sooner than a 10% canary. The query-vector caches key on the encoder, so a new triage adapter's starts cold
too while the base's is warm from all earlier traffic. Measured at the demo's self-learning canary's 10% step
(load ~12 on 2 cores): a cache answered or gave the triage vector on 19% of the canary's calls against 56% of
stable's; the median was 8.6 -> 13.5 ms over all calls and 10.9 -> 14.0 over response-cache misses (both past
the 25% tolerance; the run before, judged on response-cache misses alone, was rolled back at 13.8 -> 23.5),
and 15.5 -> 14.9 over the calls that did the whole work, so it was promoted. A candidate that consults the
response cache less often than stable (say, a router that turns it off) is compared over all calls, since
the hits it gives up are its own doing; so is a pair of sides with too few such calls to test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import stats

from loopwright.policy.schema import OutcomeRules
from loopwright.serving.conversations import conversation_key, group, resolve
from loopwright.serving.router import CanaryRules
from loopwright.serving.trace import Trace

Decision = Literal["wait", "advance", "rollback"]
_MAX_PAIRS_SIDE = 2000  # Hodges-Lehmann on at most 2000 x 2000 pairwise differences


@dataclass(frozen=True)
class MetricResult:
    metric: str
    critical: bool
    stable: float
    canary: float
    n_stable: int
    n_canary: int
    p_value: float
    effect: float  # canary minus stable: a rate difference, or the Hodges-Lehmann shift
    ci_low: float
    ci_high: float
    tolerance: float
    regressed: bool
    among: str = "all calls"  # the calls compared: latency and cost compare cache misses (`like_for_like`)

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Analysis:
    decision: Decision
    reason: str
    metrics: list[MetricResult]
    alpha_per_test: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reason": self.reason,
            "alpha_per_test": self.alpha_per_test,
            "metrics": [m.to_dict() for m in self.metrics],
        }


def rate_test(metric: str, k_canary: int, n_canary: int, k_stable: int, n_stable: int, *, alpha: float, min_increase: float, critical: bool) -> MetricResult:
    """One-sided Fisher exact test that the canary's rate is higher."""
    _, p = stats.fisher_exact([[k_canary, n_canary - k_canary], [k_stable, n_stable - k_stable]], alternative="greater")
    pc, ps = k_canary / n_canary, k_stable / n_stable
    diff = pc - ps
    # Wald interval on the difference, for the report only; the decision rests on the exact test.
    se = math.sqrt(pc * (1 - pc) / n_canary + ps * (1 - ps) / n_stable)
    z = stats.norm.ppf(1 - alpha / 2)
    return MetricResult(
        metric, critical, ps, pc, n_stable, n_canary, float(p), diff, diff - z * se, diff + z * se,
        min_increase, bool(p < alpha and diff >= min_increase),
    )


def hodges_lehmann(canary: np.ndarray, stable: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Shift estimate (median of pairwise differences) and its distribution-free (1 - alpha) interval."""
    rng = np.random.default_rng(0)  # subsampling is seeded so an analysis is reproducible
    if len(canary) > _MAX_PAIRS_SIDE:
        canary = rng.choice(canary, _MAX_PAIRS_SIDE, replace=False)
    if len(stable) > _MAX_PAIRS_SIDE:
        stable = rng.choice(stable, _MAX_PAIRS_SIDE, replace=False)
    n, m = len(canary), len(stable)
    diffs = np.sort((canary[:, None] - stable[None, :]).ravel())
    z = stats.norm.ppf(1 - alpha / 2)
    k = int(math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12)))
    k = min(max(k, 0), len(diffs) - 1)
    return float(np.median(diffs)), float(diffs[k]), float(diffs[len(diffs) - 1 - k])


def shift_test(metric: str, canary: np.ndarray, stable: np.ndarray, *, alpha: float, max_relative: float, critical: bool,
               min_absolute: float = 0.0) -> MetricResult:
    """One-sided Mann-Whitney U test that the canary's values are larger, plus the Hodges-Lehmann shift; the shift
    tolerated is `max_relative` of stable's median, and never less than `min_absolute`."""
    p = float(stats.mannwhitneyu(canary, stable, alternative="greater").pvalue)
    shift, low, high = hodges_lehmann(canary, stable, alpha)
    base = float(np.median(stable))
    tolerance = max(max_relative * base, min_absolute)
    return MetricResult(
        metric, critical, base, float(np.median(canary)), len(stable), len(canary), p, shift, low, high,
        tolerance, bool(p < alpha and shift > tolerance),
    )


def fcr_test(resolved_canary: int, n_canary: int, resolved_stable: int, n_stable: int, *, alpha: float, min_drop: float) -> MetricResult:
    """One-sided Fisher exact test that the canary resolves fewer conversations on first contact."""
    table = [[resolved_canary, n_canary - resolved_canary], [resolved_stable, n_stable - resolved_stable]]
    _, p = stats.fisher_exact(table, alternative="less")
    pc, ps = resolved_canary / n_canary, resolved_stable / n_stable
    diff = pc - ps
    se = math.sqrt(pc * (1 - pc) / n_canary + ps * (1 - ps) / n_stable)
    z = stats.norm.ppf(1 - alpha / 2)
    return MetricResult("fcr", True, ps, pc, n_stable, n_canary, float(p), diff, diff - z * se, diff + z * se,
                        min_drop, bool(p < alpha and -diff >= min_drop))


def first_contact(traces: list[Trace], outcomes: OutcomeRules) -> tuple[int, int]:
    """(resolved, conversations) among `traces`, grouped into conversations and judged under `outcomes`."""
    judged = resolve(group(traces), outcomes)
    return sum(r.resolved for r in judged), len(judged)


def _segment(trace: Trace) -> str:
    return trace.intent or "unknown"


def features(traces: list[Trace]) -> dict[str, np.ndarray]:
    """Per-request indicators and values from traces."""
    return {
        "defect_rate": np.array([t.outcome == "defect" or any(not v.passed for v in t.validators) for t in traces], bool),
        "decline_rate": np.array([t.outcome == "declined" for t in traces], bool),
        "escalation_rate": np.array([t.escalated for t in traces], bool),
        "latency_ms": np.array([float(t.latency_ms or 0.0) for t in traces]),
        "cost": np.array([float(t.cost or 0.0) for t in traces]),
    }


def like_for_like(canary: list[Trace], stable: list[Trace], min_calls: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Masks of the canary's and stable's calls that latency and cost compare on, and a phrase naming them.

    The calls of each side that missed the response cache and computed their triage vector, when both consulted
    the response cache alike (the canary at least as often as stable, within 5 points) and each has `min_calls`
    such calls; otherwise every call (see the module docstring).
    """
    warm_c, warm_s = (np.array([t.cache.hit or bool(t.triage and t.triage.cached) for t in side], bool) for side in (canary, stable))
    looked_c, looked_s = (np.array([t.cache.hit or "cache" in t.stages for t in side], bool) for side in (canary, stable))
    every_c, every_s = np.ones(len(canary), bool), np.ones(len(stable), bool)
    if not (warm_c.any() or warm_s.any()):
        return every_c, every_s, "all calls"
    shares = f"a cache answered or gave the vector: canary {warm_c.mean():.0%}, stable {warm_s.mean():.0%}"
    if looked_c.mean() < looked_s.mean() - 0.05:
        return every_c, every_s, f"all calls (the canary consults the cache on {looked_c.mean():.0%}, stable {looked_s.mean():.0%}; {shares})"
    if (~warm_c).sum() < min_calls or (~warm_s).sum() < min_calls:
        return every_c, every_s, f"all calls (under {min_calls} uncached calls on a side; {shares})"
    return ~warm_c, ~warm_s, f"uncached calls ({shares})"


def per_conversation(traces: list[Trace], flags: np.ndarray, mask: np.ndarray | None = None) -> tuple[int, int]:
    """(conversations with a flagged call, conversations) among the calls in `mask`.

    The calls of one conversation are not independent: a customer given a wrong answer rephrases and is often
    given it again, so counting calls would read one bad answer as several and overstate significance (a
    small-tier release was rolled back on branch_hours at p=0.0004 from 19 and 22 calls, half of them
    rephrasings). A conversation is one unit; single-turn traffic (every call its own conversation) is unchanged.
    """
    units: dict[tuple[str, str, str], bool] = {}
    for i, t in enumerate(traces):
        if mask is None or mask[i]:
            key = conversation_key(t)
            units[key] = units.get(key, False) or bool(flags[i])
    return sum(units.values()), len(units)


def _segments(canary: list[Trace], stable: list[Trace], min_samples: int) -> list[str]:
    """Intents with at least `min_samples` requests on each side."""
    from collections import Counter

    nc, ns = Counter(map(_segment, canary)), Counter(map(_segment, stable))
    return sorted(name for name in nc if nc[name] >= min_samples and ns[name] >= min_samples)


class Focus(NamedTuple):
    """The requests a change can touch: a name for reports and a predicate. `on_stable`: stable serves what
    changed too (a document whose text changed, not one only the candidate has), so both sides are compared on it."""

    name: str
    touches: Callable[[Trace], bool]
    on_stable: bool = False


def analyse(
    canary: list[Trace | dict[str, Any]],
    stable: list[Trace | dict[str, Any]],
    rules: CanaryRules,
    *,
    focus: Focus | None = None,
    outcomes: OutcomeRules | None = None,
) -> Analysis:
    """Compare canary and stable traces (stored records are parsed) under `rules`; `wait` until both sides
    have `min_samples`.

    `focus` adds one more defect-rate segment: the requests the change can touch, e.g. those whose
    evidence cited a document a corpus release changed. `outcomes` are the
    policy's `[outcomes]` rules for first-contact resolution (the built-in ones when None).
    """
    canary, stable = [Trace.from_dict(t) for t in canary], [Trace.from_dict(t) for t in stable]
    alpha = rules.alpha / (max(len(rules.critical), 1) * len(rules.steps))
    if len(canary) < rules.min_samples or len(stable) < rules.min_samples:
        return Analysis(
            "wait", f"need {rules.min_samples} requests on each side (canary {len(canary)}, stable {len(stable)})", [], alpha
        )
    fc, fs = features(canary), features(stable)
    segments = _segments(canary, stable, rules.min_segment_samples) if "defect_rate" in rules.critical else []
    focused = None
    if focus is not None and "defect_rate" in rules.critical:
        mc, ms = np.array([focus.touches(r) for r in canary], bool), np.array([focus.touches(r) for r in stable], bool)
        if mc.sum() < rules.min_focus_samples:
            return Analysis(
                "wait", f"need {rules.min_focus_samples} canary requests that {focus.name} (have {int(mc.sum())})", [], alpha
            )
        if ms.sum() >= rules.min_segment_samples:
            focused = (focus.name, mc, ms)
        elif focus.on_stable:
            return Analysis(
                "wait", f"need {rules.min_segment_samples} stable requests that {focus.name} (have {int(ms.sum())})", [], alpha
            )
        # else a document only the candidate has (an added one): the other tests judge it alone.
    share = 0.5 if focused is not None else 1.0
    alpha = rules.alpha * share / ((max(len(rules.critical), 1) + len(segments)) * len(rules.steps))
    focus_alpha = rules.alpha * 0.5 / len(rules.steps)
    results = []
    for metric in ("defect_rate", "decline_rate", "escalation_rate"):
        results.append(
            rate_test(
                metric, *per_conversation(canary, fc[metric]), *per_conversation(stable, fs[metric]),
                alpha=alpha, min_increase=rules.min_rate_increase, critical=metric in rules.critical,
            )
        )
    seg_c, seg_s = np.array([_segment(r) for r in canary]), np.array([_segment(r) for r in stable])
    tests = [(f"defect_rate[{name}]", seg_c == name, seg_s == name, alpha) for name in segments]
    if focused is not None:
        name, mc, ms = focused
        tests.append((f"defect_rate[{name}]", mc, ms, focus_alpha))
    for metric, mc, ms, level in tests:
        results.append(
            rate_test(
                metric, *per_conversation(canary, fc["defect_rate"], mc), *per_conversation(stable, fs["defect_rate"], ms),
                alpha=level, min_increase=rules.min_segment_increase, critical=True,
            )
        )
    if "fcr" in rules.critical:
        kc, nc = first_contact(canary, outcomes or OutcomeRules())
        ks, ns = first_contact(stable, outcomes or OutcomeRules())
        if nc >= rules.min_conversations and ns >= rules.min_conversations:
            results.append(fcr_test(kc, nc, ks, ns, alpha=alpha, min_drop=rules.min_fcr_drop))
    mc, ms, among = like_for_like(canary, stable, rules.min_segment_samples)
    for metric, tolerance, floor in (("latency_ms", rules.max_latency_increase, rules.min_latency_increase_ms),
                                     ("cost", rules.max_cost_increase, 0.0)):
        result = shift_test(metric, fc[metric][mc], fs[metric][ms], alpha=alpha, max_relative=tolerance,
                            min_absolute=floor, critical=metric in rules.critical)
        results.append(replace(result, among=among))
    regressions = [m for m in results if m.critical and m.regressed]
    if regressions:
        worst = ", ".join(f"{m.metric} {m.stable:.4g} -> {m.canary:.4g} (p={m.p_value:.2g}"
                          + ("" if m.among == "all calls" else f", {m.among}") + ")" for m in regressions)
        return Analysis("rollback", f"significant regression: {worst}", results, alpha)
    return Analysis("advance", "no significant regression on any critical metric", results, alpha)
