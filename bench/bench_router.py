"""Router benchmark: accuracy and cost per accepted answer, always-large versus the confidence router.

    python bench/bench_router.py                 # 600 requests, seed 7, both curves (about 4 minutes on 2 cores)
    python bench/bench_router.py --quick         # 150 requests, 4 points on the curve
    python bench/bench_router.py --n 300 --curve --thresholds --heldout   # no sweeps; the held-out set per language

Simulated traffic (`simulate(n, seed)`) goes through the real `Gateway` in-process
on the sample bank with the corpus fix live (FlexPay 2.0 and its -es/-vi versions
certified, committed and deployed) and the triage head fitted and deployed. Each
configuration is a router artifact registered and deployed on the workspace, then
served by a fresh `Gateway`; every answer is judged by `release.judge.judge`
against the request's `expect`, from its stored trace (`Observed.from_trace`).

- always-large: the sample's `router.toml` (every question to the large tier, no cache);
- reader, reader + cache: `router-economics.toml` as shipped (the trained reader on the small tier), with the
  cache off (routing alone) and on (normalised cache);
- stapler, stapler + cache: the same with the extractive stapler (top 3 spans) on the small tier instead, as
  the sample shipped it before the reader;
- small wherever allowed: every answerable intent to the small tier (the reader), no confidence, margin,
  length or cap rule (tool intents still escalate); with always-large, it gives the oracle:
  the small tier exactly where its answer passes, the large tier elsewhere, the best any
  router over these two tiers could do;
- the reader's threshold: `router-economics.toml`, cache off, the reader escalating below a calibrated
  answerability of 0.1, 0.15 (shipped: the dev set's choice), 0.2, 0.3 or 0.4;
- the curve: `router-economics.toml`, cache off, `routing.min_confidence` from 0.0 to 0.95,
  once with the escalation cap as shipped and once with no cap (other settings as shipped);
- with `--heldout`: the held-out question set (`tests/data/heldout_qa.jsonl`, which nothing trains or
  tunes on) through always-large, stapler + cache and reader + cache, graded as bench_answers.py grades
  (`observe.answers`), per language.

Every configuration's accuracy is also given per language of the simulated request.
Accuracy = share of requests whose answer passes the judge. Cost per accepted
answer = the traces' total cost / the answers that pass. Writes
bench/results/router.json and prints the tables.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

FULL_CURVE = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
QUICK_CURVE = (0.0, 0.5, 0.7, 0.95)
MAX_ACCURACY_DROP_POINTS, MIN_COST_CUT = 2.0, 0.60
MODEL = "larkspur-assistant"
# Intents a document can answer: what "small wherever allowed" sends to the small tier.
THRESHOLDS = (0.1, 0.15, 0.2, 0.3, 0.4)  # the reader's min_answerability (0.15 shipped: the dev set's choice)
# The small tier the sample shipped before the reader: the top 3 retrieved spans stapled together.
STAPLER = {"backend": "extractive", "price": "small", "options": {"evidence_spans": 3}}
# The held-out set's side-by-side: (label, router-economics changes); always-large is router.toml.
HELDOUT_CONFIGS = (("stapler + cache", {"tiers.small": STAPLER}), ("reader + cache", {}))
ANSWERABLE = ["chargeback_grace", "flexpay", "savings_rates", "wire_transfer", "balance", "fees", "account_opening", "branch_hours"]
# A failure's quoted fact or document list, folded so failures group by what went wrong.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\([^)]*\)|(?<=cites none of ).*")


_runs = iter(range(1, 10_000))


def run_config(template: Path, label: str, router_text: str, stream: list[dict[str, Any]]) -> dict[str, Any]:
    """On a fresh copy of the template workspace, deploy `router_text`, serve `stream` through a new
    Gateway, and judge every answer from its trace."""
    from loopwright.serving.trace_store import load_records
    from loopwright.release.judge import Observed, judge
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.serving.pipeline import ChatRequest, Gateway

    ws = common.workspace_copy(template, template.parent / f"run-{next(_runs)}")
    try:
        artifact = common.deploy_router(ws, router_text, reason=f"bench: {label}")
        gateway = Gateway(ws, as_of=REFERENCE_DATE, watch=False)
        t0 = time.perf_counter()
        try:
            ids = []
            for request in stream:
                role = "agent" if request["tenant"].endswith("staff") else "customer"
                principal = gateway.principal_for(request["tenant"], role, request.get("customer_id"), key_id="bench")
                completion = gateway.complete(ChatRequest(model=MODEL, messages=[{"role": "user", "content": request["text"]}]), principal)
                ids.append(completion.trace_id)
            gateway.writer.flush()
        finally:
            gateway.close()
        seconds = time.perf_counter() - t0
        by_id = {r["id"]: r for r in load_records(ws, ids=ids)}
    finally:
        ws.close()
    assert len(by_id) == len(ids), f"{label}: {len(ids) - len(by_id)} traces missing"

    passed, cost, tiers, escalated, hits, declined = 0, 0.0, Counter(), 0, 0, 0
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    languages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    flexpay = [0, 0]  # FlexPay questions with facts to check: passed, total
    failures: Counter = Counter()
    per_request: list[tuple[bool, float]] = []
    for request, trace_id in zip(stream, ids, strict=True):
        record = by_id[trace_id]
        verdict = judge(request["expect"], Observed.from_trace(record))
        passed += verdict.passed
        cost += record.get("cost") or 0.0
        per_request.append((verdict.passed, record.get("cost") or 0.0))
        route = record.get("route") or {}
        tiers[record.get("tier") or route.get("tier") or "none"] += 1
        escalated += bool(route.get("escalated"))
        hits += bool(record["cache"]["hit"])
        declined += record["outcome"] == "declined"
        kinds[request["kind"]][0] += verdict.passed
        kinds[request["kind"]][1] += 1
        languages[request["language"]][0] += verdict.passed
        languages[request["language"]][1] += 1
        if request["intent"] == "flexpay" and request["expect"].get("must_contain"):
            flexpay[0] += verdict.passed
            flexpay[1] += 1
        for f in verdict.failures:
            failures[_QUOTED.sub("…", f)] += 1
    n = len(stream)
    return {
        "label": label,
        "router": artifact.ref,
        "requests": n,
        "accepted": passed,
        "accuracy": round(passed / n, 4),
        "total_cost_usd": round(cost, 6),
        "cost_per_accepted_usd": round(cost / passed, 8) if passed else None,
        "tiers": dict(tiers),
        "escalation_rate": round(escalated / n, 4),
        "small_tier_share": round(tiers.get("small", 0) / n, 4),
        "cache_hit_rate": round(hits / n, 4),
        "decline_rate": round(declined / n, 4),
        "flexpay_accuracy": round(flexpay[0] / flexpay[1], 4) if flexpay[1] else None,
        "flexpay_questions": flexpay[1],
        "accuracy_by_kind": {k: {"passed": v[0], "n": v[1], "accuracy": round(v[0] / v[1], 4)} for k, v in sorted(kinds.items())},
        "accuracy_by_language": {k: {"passed": v[0], "n": v[1], "accuracy": round(v[0] / v[1], 4)} for k, v in sorted(languages.items())},
        "top_failures": dict(failures.most_common(6)),
        "seconds": round(seconds, 1),
        "_per_request": per_request,  # (passed, cost) in stream order, for the oracle; not written out
    }


def oracle(large: dict[str, Any], small: dict[str, Any]) -> dict[str, Any]:
    """The best any router could do with these two tiers: small where its answer passes, large otherwise."""
    passed, cost, small_n, per_request = 0, 0.0, 0, []
    for (l_ok, l_cost), (s_ok, s_cost) in zip(large["_per_request"], small["_per_request"], strict=True):
        if s_ok:
            passed, cost, small_n = passed + 1, cost + s_cost, small_n + 1
            per_request.append((s_ok, s_cost))
        else:
            passed, cost = passed + l_ok, cost + l_cost
            per_request.append((l_ok, l_cost))
    n = large["requests"]
    return {"label": "oracle (small iff its answer passes)", "requests": n, "accepted": passed, "accuracy": round(passed / n, 4),
            "total_cost_usd": round(cost, 6), "cost_per_accepted_usd": round(cost / passed, 8) if passed else None,
            "small_tier_share": round(small_n / n, 4), "escalation_rate": None, "cache_hit_rate": 0.0, "flexpay_accuracy": None,
            "_per_request": per_request}


def compare(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`other` against `base` request for request (the same stream, one answer each): the accuracy drop and the
    cut in cost per accepted answer, with 95% paired bootstrap intervals (`demo.traffic.paired_arms`)."""
    from loopwright.demo.traffic import paired_arms

    drop = (base["accuracy"] - other["accuracy"]) * 100
    cut = 1 - other["cost_per_accepted_usd"] / base["cost_per_accepted_usd"]
    (b_ok, b_cost), (o_ok, o_cost) = zip(*base["_per_request"], strict=True), zip(*other["_per_request"], strict=True)
    pair = paired_arms(b_ok, o_ok, b_cost, o_cost)
    low, high = pair["accuracy_change_ci95"]
    return {
        "accuracy_drop_points": round(drop, 2),
        "accuracy_drop_points_ci95": [round(-high * 100, 2), round(-low * 100, 2)],
        "cost_per_accepted_cut": round(cut, 4),
        "cost_per_accepted_cut_ci95": pair["cost_cut_ci95"],
        "answers_lost_gained": [pair["lost"], pair["gained"]],
        "accuracy_within_2_points": drop <= MAX_ACCURACY_DROP_POINTS,
        "cost_cut_at_least_60pct": cut >= MIN_COST_CUT,
    }


def run_heldout(template: Path) -> dict[str, Any]:
    """The held-out questions (measured, never tuned on) through always-large and the economics router with each
    small tier: accuracy, decline recall, cost per accepted answer and latency, overall and per language."""
    from bench_answers import HELDOUT, run_router

    from loopwright.observe.answers import load_questions, summarise, summarise_by

    questions = load_questions(HELDOUT)
    configs = [("always-large", common.router_toml("router.toml"))] + [
        (label, common.router_toml("router-economics.toml", **changes)) for label, changes in HELDOUT_CONFIGS]
    out: dict[str, Any] = {"questions": len(questions), "set": str(HELDOUT.relative_to(common.ROOT))}
    for label, text in configs:
        grades, facts = run_router(template, label, text, questions)
        out[label] = {**facts, "overall": summarise(grades), "by_language": summarise_by(grades, lambda g: g.question.language)}
        print(f"  held-out {label}: accuracy {out[label]['overall']['accuracy']:.3f}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-sized: 150 requests, 4 curve points")
    parser.add_argument("--n", type=int, default=None, help="simulated requests (default 600, quick 150)")
    parser.add_argument("--seed", type=int, default=7, help="simulate seed")
    parser.add_argument("--curve", type=float, nargs="*", default=None, help="min_confidence values for the curve")
    parser.add_argument("--thresholds", type=float, nargs="*", default=None,
                        help=f"the reader's min_answerability values to sweep (default {' '.join(map(str, THRESHOLDS))})")
    parser.add_argument("--heldout", action="store_true", help="also the held-out question set, per language, through "
                        "always-large, stapler + cache and reader + cache")
    args = parser.parse_args()
    n = args.n or (150 if args.quick else 600)
    curve = tuple(args.curve) if args.curve is not None else (QUICK_CURVE if args.quick else FULL_CURVE)
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()

    from loopwright.samples.bank.simulate import simulate

    stream = list(simulate(n, args.seed))
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
        os.environ.pop("LOOPWRIGHT_REDIS_URL", None)
        t0 = time.perf_counter()
        template = Path(tmp) / "bank"
        common.bank_workspace(template).close()
        setup_s = time.perf_counter() - t0
        # The first run also fills the embedder's query cache for this stream, so later runs spend
        # their time on routing, retrieval and generation; quality and cost do not depend on it.
        large = run_config(template, "always-large", common.router_toml("router.toml"), stream)
        router = run_config(template, "reader", common.router_toml("router-economics.toml", **{"cache.enabled": False}), stream)
        cached = run_config(template, "reader + cache", common.router_toml("router-economics.toml"), stream)
        stapler = run_config(template, "stapler", common.router_toml("router-economics.toml", **{
            "cache.enabled": False, "tiers.small": STAPLER}), stream)
        stapler_cached = run_config(template, "stapler + cache", common.router_toml("router-economics.toml", **{
            "tiers.small": STAPLER}), stream)
        # Every answerable intent to the small tier wherever the policy lets it (tool intents and
        # multi-part questions still escalate): with always-large, the oracle's two ends.
        small = run_config(template, "small wherever allowed", common.router_toml("router-economics.toml", **{
            "cache.enabled": False, "routing.small_intents": ANSWERABLE, "routing.min_confidence": 0.0,
            "routing.min_margin": 0.0, "routing.max_words": 10_000, "routing.escalation_cap": 1.0}), stream)
        # When the reader escalates is the other lever: its calibrated answerability threshold.
        shipped_small = tomllib.loads(common.router_toml("router-economics.toml"))["tiers"]["small"]
        thresholds = []
        for threshold in (THRESHOLDS if args.thresholds is None else args.thresholds):
            reader = {**shipped_small, "options": {**shipped_small["options"], "min_answerability": threshold}}
            point = run_config(template, f"reader escalates below {threshold}", common.router_toml("router-economics.toml", **{
                "cache.enabled": False, "tiers.small": reader}), stream)
            point["min_answerability"] = threshold
            point.update(compare(large, point))
            thresholds.append(point)
        heldout = run_heldout(template) if args.heldout else None
        curves: dict[str, list[dict[str, Any]]] = {"curve": [], "curve_no_cap": []}
        for key, cap in (("curve", None), ("curve_no_cap", 1.0)):
            for threshold in curve:
                changes: dict[str, Any] = {"cache.enabled": False, "routing.min_confidence": float(threshold)}
                if cap is not None:
                    changes["routing.escalation_cap"] = cap
                point = run_config(template, f"min_confidence={threshold}" + ("" if cap is None else ", no cap"),
                                   common.router_toml("router-economics.toml", **changes), stream)
                point["min_confidence"] = threshold
                point.update(compare(large, point))
                curves[key].append(point)
                print(f"  {key} min_confidence {threshold:4.2f}: accuracy {point['accuracy']:.3f}, "
                      f"$/accepted {point['cost_per_accepted_usd']:.6f}", file=sys.stderr)
        from loopwright.embedding import get_embedder

        machine["embedder"] = get_embedder().key

    shipped = common.router_toml("router-economics.toml")
    result = {
        "quick": args.quick,
        "machine": machine,
        "config": {"requests": n, "seed": args.seed, "corpus": "fixed: " + ", ".join(common.FIXED_DOCS) + " certified",
                   "setup_s": round(setup_s, 1), "router_economics": shipped},
        "always_large": large,
        "router": {**router, **compare(large, router)},
        "router_cache": {**cached, **compare(large, cached)},
        "stapler": {**stapler, **compare(large, stapler)},
        "stapler_cache": {**stapler_cached, **compare(large, stapler_cached)},
        "always_small": {**small, **compare(large, small)},
        "oracle": {**(best := oracle(large, small)), **compare(large, best)},
        "reader_threshold": thresholds,
        "curve": curves["curve"],
        "curve_no_cap": curves["curve_no_cap"],
        "heldout": heldout,
    }
    r, rc = result["router"], result["router_cache"]
    result["targets_met"] = {
        "reader: accuracy within 2 points": r["accuracy_within_2_points"],
        "reader: cost per accepted >= 60% lower": r["cost_cut_at_least_60pct"],
        "reader + cache: accuracy within 2 points": rc["accuracy_within_2_points"],
        "reader + cache: cost per accepted >= 60% lower": rc["cost_cut_at_least_60pct"],
        "reader + cache: accuracy within 1 point (#19)": rc["accuracy_drop_points"] <= 1.0,
        "reader + cache: cost per accepted >= 85% lower (#19)": rc["cost_per_accepted_cut"] >= 0.85,
    }
    for item in [large, router, cached, stapler, stapler_cached, small, *thresholds, *curves["curve"], *curves["curve_no_cap"]]:
        item.pop("_per_request", None)
    for key in ("always_large", "router", "router_cache", "stapler", "stapler_cache", "always_small", "oracle"):
        result[key].pop("_per_request", None)
    path = common.write_result("router", result, started=started)
    report(result)
    print(f"\nwrote {path.relative_to(common.ROOT)}")


MAIN_ROWS = ("always_large", "stapler", "stapler_cache", "router", "router_cache", "always_small", "oracle")


def _interval(ci: list[float] | None, percent: bool = False) -> str:
    if not ci:
        return ""
    return f"{ci[0]:.1%}..{ci[1]:.1%}" if percent else f"{ci[0] + 0.0:+.2f}..{ci[1] + 0.0:+.2f}"


def report(result: dict[str, Any]) -> None:
    cfg = result["config"]
    rows = []
    for key in MAIN_ROWS:
        r = result[key]
        rows.append([r["label"], r["accuracy"], r.get("accuracy_drop_points", 0.0), _interval(r.get("accuracy_drop_points_ci95")),
                     r["cost_per_accepted_usd"], r.get("cost_per_accepted_cut", 0.0), _interval(r.get("cost_per_accepted_cut_ci95"), percent=True),
                     r["escalation_rate"], r["small_tier_share"], r["cache_hit_rate"], r["flexpay_accuracy"]])
    header = ["config", "accuracy", "drop pts", "95% (pts)", "$/accepted", "cost cut", "95%", "escalated", "small tier",
              "cache hits", "FlexPay acc."]
    print_table(f"Router vs always-large on simulate({cfg['requests']}, seed {cfg['seed']}), corpus {cfg['corpus']}", header, rows)
    languages = sorted(result["always_large"]["accuracy_by_language"])
    rows = [[result[key]["label"], *(result[key].get("accuracy_by_language", {}).get(lang, {}).get("accuracy") for lang in languages)]
            for key in MAIN_ROWS if key != "oracle"]
    print_table("Accuracy per language of the simulated request", ["config", *languages], rows)
    if result.get("heldout"):
        h = result["heldout"]
        rows = []
        for label in ("always-large", *(name for name, _ in HELDOUT_CONFIGS)):
            for lang, m in [("all", h[label]["overall"]), *h[label]["by_language"].items()]:
                rows.append([label, lang, m["questions"], m["accuracy"], m["answerable_accuracy"], m["decline_recall"],
                             m["cost_per_accepted_usd"], m["latency_ms"]["p50"], h[label]["answered_by"] if lang == "all" else ""])
        print_table(f"Held-out questions ({h['set']}, {h['questions']}), graded as bench_answers.py grades",
                    ["config", "lang", "n", "accuracy", "answerable", "decline recall", "$/accepted", "p50 ms", "answered by"], rows)
    rows = [[p["min_answerability"], p["accuracy"], p["accuracy_drop_points"], p["cost_per_accepted_usd"], p["cost_per_accepted_cut"],
             p["small_tier_share"], p["flexpay_accuracy"], "yes" if p["accuracy_within_2_points"] and p["cost_cut_at_least_60pct"] else "no"]
            for p in result["reader_threshold"]]
    print_table("Router (router-economics, cache off) as the reader's answerability threshold varies",
                ["min_answer.", "accuracy", "drop pts", "$/accepted", "cost cut", "small tier", "FlexPay acc.", "both targets"], rows)
    rows = [[p["min_confidence"], p["accuracy"], p["accuracy_drop_points"], p["cost_per_accepted_usd"], p["cost_per_accepted_cut"], p["escalation_rate"],
             p["small_tier_share"], "yes" if p["accuracy_within_2_points"] and p["cost_cut_at_least_60pct"] else "no"] for p in result["curve"]]
    print_table("Cost/quality curve (router-economics, cache off, escalation cap as shipped) as min_confidence varies",
                ["min_conf", "accuracy", "drop pts", "$/accepted", "cost cut", "escalated", "small tier", "both targets"], rows)
    rows = [[p["min_confidence"], p["accuracy"], p["accuracy_drop_points"], p["cost_per_accepted_usd"], p["cost_per_accepted_cut"], p["escalation_rate"],
             p["small_tier_share"], "yes" if p["accuracy_within_2_points"] and p["cost_cut_at_least_60pct"] else "no"] for p in result["curve_no_cap"]]
    print_table("The same curve with no escalation cap (escalation_cap = 1.0)",
                ["min_conf", "accuracy", "drop pts", "$/accepted", "cost cut", "escalated", "small tier", "both targets"], rows)
    print("  accuracy by kind (always-large / stapler + cache / reader + cache): " + ", ".join(
        f"{k} {v['accuracy']:.2f}/{result['stapler_cache']['accuracy_by_kind'][k]['accuracy']:.2f}/"
        f"{result['router_cache']['accuracy_by_kind'][k]['accuracy']:.2f}" for k, v in result["always_large"]["accuracy_by_kind"].items()))
    print("  targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in result["targets_met"].items()))


if __name__ == "__main__":
    main()
