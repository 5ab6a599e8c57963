"""The economics phase: the router's small tier for confident FAQ intents and the normalised cache, against
always-large, on the same requests.

    the next N simulated contacts, served always-large (the stable router)
      -> router-economics.toml released: golden gate, 50% canary, analysis
      -> the same N contacts served again, through the promoted router

The comparison is paired on each request's first answer (`traffic.first_answers`): after a failed answer a
simulated customer rephrases, so per call the worse arm is asked more often and the two arms serve different
traffic. Accuracy change and cost cut carry 95% paired bootstrap intervals (`traffic.paired`); the router's
answers are broken down by what answered them (small tier, large tier, cache: `traffic.by_tier`). The
per-call figures stay, labelled as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopwright.demo.advice import consult
from loopwright.demo.canary import release as _release
from loopwright.demo.formatting import format_value, percent
from loopwright.demo.traffic import answered_by, by_tier, first_answers, paired, summarise
from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.install import CONFIG_DIR

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext

PHASE = "economics"
MIN_COST_CUT, MAX_ACCURACY_DROP, MIN_FLEXPAY = 0.60, 0.02, 0.90


def economics(ctx: DemoContext) -> None:
    """The router's small tier for confident FAQ intents, and the normalised cache, against always-large."""
    start = ctx.now()
    consult(ctx, PHASE)
    batch = ctx.driver.take(ctx.sizes.economics)  # the same requests through both arms
    control = ctx.serve(0, PHASE, "always-large control", requests=batch)
    current = get_deployment(ctx.ws).stable("router")
    router = artifacts.register(
        ctx.ws, "router", current.name,
        {"router.toml": (CONFIG_DIR / "router-economics.toml").read_bytes(), "prices.json": (DATA_DIR / "prices.json").read_bytes()},
        parents=[current.ref], provenance={"source": "demo: economics levers", "creator": "loopwright demo"},
    )
    outcome = _release(ctx, PHASE, "router", router.ref, reason="small tier for confident FAQs, normalised cache", share=0.5)
    treated = ctx.serve(0, PHASE, "small tier + cache", requests=batch) if outcome["state"] == "promoted" else []
    ctx.samples["always-large"], ctx.samples["router + cache"] = control, treated

    first_c = first_answers(control, batch)
    first_t = first_answers(treated, batch) if treated else []
    c, t = summarise(first_c), summarise(first_t)
    pair = paired(first_c, first_t) if treated else {}
    ctx.row(PHASE, "requests compared (first answers)", len(first_c), "", traces=first_c + first_t)
    ctx.row(PHASE, "accuracy, always-large (first answers)", c["accepted_rate"], "%", traces=first_c)
    ctx.row(PHASE, "accuracy, router + cache (first answers)", t.get("accepted_rate"), "%", traces=first_t)
    change = pair.get("accuracy_change")
    ctx.row(PHASE, "accuracy change vs always-large (first answers, paired)", change, "%",
            target=f"within {MAX_ACCURACY_DROP * 100:.0f} points", met=change is not None and change >= -MAX_ACCURACY_DROP,
            traces=first_c + first_t)
    ctx.row(PHASE, "accuracy change, 95% interval (paired bootstrap)", _points(pair.get("accuracy_change_ci95"), pair),
            "", traces=first_c + first_t)
    ctx.row(PHASE, "cost per accepted, always-large (first answers)", c["cost_per_accepted"], "$", traces=first_c)
    ctx.row(PHASE, "cost per accepted, router + cache (first answers)", t.get("cost_per_accepted"), "$", traces=first_t)
    cut = pair.get("cost_cut")
    ctx.row(PHASE, "cost saving per accepted answer (first answers)", cut, "%", target=f">= {MIN_COST_CUT:.0%}",
            met=cut is not None and cut >= MIN_COST_CUT, traces=first_c + first_t)
    ctx.row(PHASE, "cost saving, 95% interval (paired bootstrap)", _shares(pair.get("cost_cut_ci95")), "",
            traces=first_c + first_t)
    flex = [r for r in first_t if r.flexpay]
    ctx.row(PHASE, "FlexPay accuracy, router + cache (first answers)", t.get("flexpay_accuracy"), "%",
            target=f">= {MIN_FLEXPAY:.0%}", met=t.get("flexpay_accuracy") is not None and t["flexpay_accuracy"] >= MIN_FLEXPAY,
            traces=flex)
    tiers = by_tier(first_t)
    for name, m in tiers.items():
        mine = [r for r in first_t if answered_by(r) == name]
        ctx.row(PHASE, f"{_answered_by(name)}: share of first answers", m["share"], "%", traces=mine)
        ctx.row(PHASE, f"{_answered_by(name)}: accuracy", m["accepted_rate"], "%", traces=mine)
        ctx.row(PHASE, f"{_answered_by(name)}: cost per accepted answer", m["cost_per_accepted"], "$", traces=mine)
        ctx.row(PHASE, f"{_answered_by(name)}: latency p50", m["latency_p50_ms"], "ms", traces=mine)
    ctx.row(PHASE, "escalation rate (first answers)", t.get("escalation_rate"), "%", traces=first_t)
    ctx.row(PHASE, "cache hit rate (first answers)", t.get("cache_hit_rate"), "%", traces=first_t)

    # Per call, rephrasings included: each arm's own traffic, so not a like-for-like comparison.
    pc, pt = summarise(control), summarise(treated)
    per_call_change = (pt.get("accepted_rate") or 0) - pc["accepted_rate"] if treated else None
    per_call_cut = (1 - pt["cost_per_accepted"] / pc["cost_per_accepted"]
                    if pt.get("cost_per_accepted") and pc.get("cost_per_accepted") else None)
    ctx.row(PHASE, "accuracy change vs always-large (per call, rephrasings included)", per_call_change, "%",
            traces=control + treated)
    ctx.row(PHASE, "cost saving per accepted answer (per call, rephrasings included)", per_call_cut, "%",
            traces=control + treated)

    ctx.phases.append({
        "name": PHASE, "title": "Economics: router and cache", "start_t": start, "end_t": ctx.now(),
        "metrics": {"always_large": c, "router_cache": t, "paired": pair, "tiers": tiers,
                    "per_call": {"always_large": pc, "router_cache": pt},
                    "release": {k: outcome[k] for k in ("release", "state")}},
        "summary": f"The same {len(batch)} requests ran before and after. Router {router.ref} (small tier for confident "
                   f"FAQ intents, normalised cache) was released through the gate and a 50% canary ({outcome['state']}). "
                   f"On each request's first answer: accepted {percent(c['accepted_rate'])} -> {percent(t.get('accepted_rate'))} "
                   f"(change {_points(pair.get('accuracy_change_ci95'), pair)}), cost per accepted answer "
                   f"{_money(c['cost_per_accepted'])} -> {_money(t.get('cost_per_accepted'))}; "
                   + "; ".join(f"{_answered_by(k)} {percent(m['share'])} of answers at {percent(m['accepted_rate'])}"
                               for k, m in tiers.items())
                   + f"; escalation {percent(t.get('escalation_rate'))}, cache hits {percent(t.get('cache_hit_rate'))}.",
        "trace_ids": [r.trace_id for r in control + treated], "receipt_ids": outcome["receipts"],
    })


def _answered_by(name: str) -> str:
    return {"cache": "cache hits", "none": "declined before routing"}.get(name, f"{name} tier")


def _points(ci: list[float] | None, pair: dict) -> str | None:
    """An accuracy change's interval in points, with the pairs behind it."""
    if ci is None:
        return None
    return (f"{ci[0] * 100:+.1f} to {ci[1] * 100:+.1f} points ({pair['n']} requests; "
            f"{pair['lost']} answers lost, {pair['gained']} gained)")


def _shares(ci: list[float] | None) -> str | None:
    return None if ci is None else f"{ci[0]:.1%} to {ci[1]:.1%}"


def _money(x) -> str:
    return format_value(x, "$")
