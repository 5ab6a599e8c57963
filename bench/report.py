"""Render every bench/results/*.json into bench/results/README.md: generated, never edited by hand.

    python bench/report.py

Each results file gets a section: the command that produced it, when, on what
machine (and how busy it was), then its figures. Benchmarks this script knows
(gateway, router, hf_quant, answers) get their headline tables; any other gets a flat table of its
scalar figures. A summary at the top lists every target a benchmark checked
(keys named `targets_met`, `target_met*`) and whether it was met.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
MAX_GENERIC_ROWS = 80


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.1f}"
        if abs(v) >= 0.01:
            return f"{v:.3f}".rstrip("0").rstrip(".")
        return f"{v:.2e}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _targets(data: Any, path: str = "") -> Iterator[tuple[str, bool]]:
    """(name, met) for every boolean under a key that names a target."""
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{path}.{k}" if path else k
            if k.startswith("target") and isinstance(v, dict):
                for name, met in v.items():
                    if isinstance(met, bool):
                        yield (f"{path + ': ' if path else ''}{name}", met)
            elif k.startswith("target_met") and isinstance(v, bool):
                yield (here, v)
            elif k not in ("rounds", "curve"):
                yield from _targets(v, here)


def _flatten(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _flatten(v, f"{path}.{k}" if path else k)
    elif isinstance(data, list):
        if all(isinstance(x, (int, float, str, bool)) or x is None for x in data) and len(data) <= 8:
            yield path, ", ".join(_fmt(x) for x in data)
        else:
            yield path, f"({len(data)} items)"
    elif isinstance(data, str) and len(data) > 120:
        return
    else:
        yield path, data


def generic(data: dict[str, Any]) -> str:
    skip = {"benchmark", "command", "finished_at", "wall_s", "machine", "quick"}
    rows = [[k, v] for k, v in _flatten({k: v for k, v in data.items() if k not in skip})]
    note = f"\n\n({len(rows) - MAX_GENERIC_ROWS} more figures in the JSON file)" if len(rows) > MAX_GENERIC_ROWS else ""
    return table(["figure", "value"], rows[:MAX_GENERIC_ROWS]) + note


def gateway(data: dict[str, Any]) -> str:
    out = []
    pt = data.get("passthrough")
    if pt:
        c = pt["config"]
        rows = []
        for name, s in pt["targets"].items():
            o = s.get("overhead_ms") or {}
            rows.append([name, s["saturation_rps"], s["server_cpu_ms_per_request"], s["paced_latency_ms"]["p50"], s["paced_latency_ms"]["p99"],
                         o.get("p50"), o.get("p99"), s["errors"]])
        out.append(f"**Pass-through overhead**: {c['concurrency']} concurrent clients; latency paced at {c['paced_rate_rps']:.0f} req/s; "
                   f"median of {c['rounds']} round(s) of {c['duration_s']:.0f} s. LiteLLM {pt['litellm']['version'] or pt['litellm']['note']}.\n")
        out.append(table(["target", "saturation req/s", "server CPU ms/request", "paced p50 ms", "paced p99 ms", "overhead p50 ms", "overhead p99 ms", "errors"], rows))
        if "rps_ratio_loopwright_over_litellm" in pt:
            out.append(f"\nloopwright / LiteLLM requests/s: **{pt['rps_ratio_loopwright_over_litellm']:.2f}x**; "
                       f"LiteLLM / loopwright CPU per request: {pt['cpu_ratio_litellm_over_loopwright']:.2f}x.")
        if "masking" in pt:
            out.append(f"\nPII masking on / off (`loopwright-nomask`: the same policy listing no entity): CPU per request "
                       f"**{pt['masking']['cpu_ratio_masked_over_unmasked']:.2f}x**, req/s {pt['masking']['rps_ratio_masked_over_unmasked']:.2f}x.")
        if "workers" in pt:
            w = pt["workers"]
            out.append(f"\n`serve --workers {w['workers']}` / one process: req/s **{w['rps_ratio_over_one_process']:.2f}x**, "
                       f"CPU per request {w['cpu_ms_per_request_ratio_over_one_process']:.2f}x.")
        if c.get("pinned_cpu") is not None:
            out.append(f"\nloopwright (one process), loopwright-nomask and LiteLLM pinned to CPU {c['pinned_cpu']}; "
                       "the upstream and the load generator to the others; `--workers` unpinned.")
        tr = pt["traces"]
        stages = ", ".join(f"{k} {v['p50']}" for k, v in tr["stage_ms"].items())
        out.append(f"\nTraces written: {tr['written']}. Stage p50 (ms) from the traces: {stages}; "
                   f"pipeline outside generate p50 {tr['pipeline_ms_outside_generate']['p50']} / p99 {tr['pipeline_ms_outside_generate']['p99']} ms.")
    gv = data.get("governed")
    if gv:
        st = gv["stages"]
        rows = [[k, v["n"], v["mean"], v["p50"], v["p90"], v["p99"]] for k, v in st["stage_ms"].items()]
        t = st["trace_latency_ms"]
        rows.append(["total", t["n"], t["mean"], t["p50"], t["p90"], t["p99"]])
        rows += [[f"retrieval.{k}", v["n"], v["mean"], v["p50"], v["p90"], v["p99"]] for k, v in st["retrieval_parts_ms"].items()]
        out.append(f"\n**Governed path per stage** ({st['requests']} simulated requests, {st['router']}), ms:\n")
        out.append(table(["stage", "n", "mean", "p50", "p90", "p99"], rows))
        ps = gv.get("paced_server")
        if ps:
            o = ps["outside_generation_ms"]
            out.append(f"\n**Governed `loopwright serve` paced at {ps['rate_rps']:.0f} req/s** ({ps['achieved_rps']:.0f} achieved, "
                       f"{ps['errors']} errors, {ps['server_cpu_ms_per_request']} ms server CPU per request): server time outside "
                       f"generation p50 **{o['p50']} ms**, p90 {o['p90']}, p99 **{o['p99']} ms** (targets < 5 / < 15 ms).")
        th = gv.get("triage_threads")
        if th:
            out.append(f"\n**Triage per call** at torch's default {th['default_threads']} threads vs 1 thread, ms:\n")
            out.append(table(["threads", "n", "p50", "p90", "p99"], [
                [f"default ({th['default_threads']})", th["default_ms"]["n"], th["default_ms"]["p50"], th["default_ms"]["p90"], th["default_ms"]["p99"]],
                ["1", th["one_thread_ms"]["n"], th["one_thread_ms"]["p50"], th["one_thread_ms"]["p90"], th["one_thread_ms"]["p99"]]]))
        cl = gv["cache_latency"]
        out.append(f"\n**Cache hit vs miss** ({cl['pairs']} questions, each asked twice), ms:\n")
        out.append(table(["", "p50", "p90", "p99"], [
            ["miss (wall)", cl["miss_ms"]["p50"], cl["miss_ms"]["p90"], cl["miss_ms"]["p99"]],
            ["hit (wall)", cl["hit_ms"]["p50"], cl["hit_ms"]["p90"], cl["hit_ms"]["p99"]],
            ["miss (CPU)", cl["miss_cpu_ms"]["p50"], cl["miss_cpu_ms"]["p90"], cl["miss_cpu_ms"]["p99"]],
            ["hit (CPU)", cl["hit_cpu_ms"]["p50"], cl["hit_cpu_ms"]["p90"], cl["hit_cpu_ms"]["p99"]],
        ]))
        out.append(f"\nHit / miss speed-up at p50: **{cl['speedup_p50']}x** wall, {cl['speedup_cpu_p50']}x CPU.")
        hr = gv["cache_hit_rate"]
        out.append(f"\n**Cache hit rate** on simulate({hr['requests']}, seed {hr['seed']}), router-economics:\n")
        out.append(table(["keying", "hit rate", "ceiling (repeats)", "accuracy", "repeats not answered from the cache"], [
            ["normalised", hr["normalise"]["hit_rate"], hr["ceiling"]["normalised"], hr["normalise"]["accuracy"],
             json.dumps(hr["normalise"].get("repeats_not_answered_from_cache", {}))],
            ["exact text", hr["exact"]["hit_rate"], hr["ceiling"]["exact"], hr["exact"]["accuracy"],
             json.dumps(hr["exact"].get("repeats_not_answered_from_cache", {}))],
        ]))
    return "\n".join(out)


def router(data: dict[str, Any]) -> str:
    cfg = data["config"]
    rows = []
    for key in ("always_large", "stapler", "stapler_cache", "router", "router_cache"):
        r = data.get(key)
        if r:
            rows.append([r["label"], r["accuracy"], r.get("accuracy_drop_points", 0.0), r["cost_per_accepted_usd"], r.get("cost_per_accepted_cut", 0.0),
                         r["escalation_rate"], r["small_tier_share"], r["cache_hit_rate"], r["flexpay_accuracy"]])
    for key in ("always_small", "oracle"):
        r = data.get(key)
        if r:
            rows.append([r["label"], r["accuracy"], r.get("accuracy_drop_points"), r["cost_per_accepted_usd"], r.get("cost_per_accepted_cut"),
                         r.get("escalation_rate"), r.get("small_tier_share"), r.get("cache_hit_rate"), r.get("flexpay_accuracy")])
    out = [f"simulate({cfg['requests']}, seed {cfg['seed']}); corpus {cfg['corpus']}.\n",
           table(["config", "accuracy", "drop (points)", "$ / accepted", "cost cut", "escalated", "small tier", "cache hits", "FlexPay accuracy"], rows)]
    heldout = data.get("heldout")
    if heldout:
        out.append(f"\n**Held-out questions** ({heldout['set']}, {heldout['questions']}), accuracy per language:\n")
        labels = [k for k in heldout if isinstance(heldout[k], dict)]
        languages = sorted({lang for k in labels for lang in heldout[k]["by_language"]})
        out.append(table(["config", "all", *languages, "$ / accepted"], [
            [k, heldout[k]["overall"]["accuracy"], *(heldout[k]["by_language"].get(lang, {}).get("accuracy") for lang in languages),
             heldout[k]["overall"]["cost_per_accepted_usd"]] for k in labels]))
    spans = data.get("small_tier_spans")
    if spans:
        out.append("\n**Small-tier evidence** (router-economics, cache off; the shipped config reads 1 span):\n")
        out.append(table(["small tier spans", "accuracy", "drop (points)", "$ / accepted", "cost cut", "small tier", "FlexPay accuracy", "both targets"], [
            [p["small_evidence_spans"], p["accuracy"], p["accuracy_drop_points"], p["cost_per_accepted_usd"], p["cost_per_accepted_cut"],
             p["small_tier_share"], p["flexpay_accuracy"], p["accuracy_within_2_points"] and p["cost_cut_at_least_60pct"]] for p in spans]))
    for key, title in (("curve", "with the escalation cap as shipped"), ("curve_no_cap", "with no escalation cap")):
        points = data.get(key)
        if points:
            out.append(f"\n**Cost/quality curve** as `routing.min_confidence` varies ({title}; cache off):\n")
            out.append(table(["min_confidence", "accuracy", "drop (points)", "$ / accepted", "cost cut", "escalated", "both targets"], [
                [p["min_confidence"], p["accuracy"], p["accuracy_drop_points"], p["cost_per_accepted_usd"], p["cost_per_accepted_cut"],
                 p["escalation_rate"], p["accuracy_within_2_points"] and p["cost_cut_at_least_60pct"]] for p in points]))
    return "\n".join(out)


def hf_quant(data: dict[str, Any]) -> str:
    variants = ("fp32", "bf16", "int8")
    m = data["model"]

    def side(part: dict[str, Any], keys: list[str]) -> str:
        return table(["figure", *variants, "int8 / fp32"], [[k, *(part[v][k] for v in variants), part["int8"][k] / part["fp32"][k]] for k in keys])

    out = [f"**Sample LM** {m['artifact']} ({m['parameters']:,} parameters), greedy decode of {m['new_tokens']} tokens, "
           f"median of {m['rounds']} rounds; perplexity on {m['heldout_texts']} held-out texts:\n"]
    out.append(side(data["lm"], ["decode_tokens_per_s_batch1", "decode_tokens_per_s_batch16", "weight_bytes", "rss_added_bytes", "heldout_perplexity"]))
    out.append(f"\n**Triage encoder** all-MiniLM-L6-v2 on {data['triage']['n']} test utterances, the fitted head unchanged:\n")
    out.append(side(data["triage"], ["accuracy", "texts_per_s_batch64", "weight_bytes", "min_cosine_to_fp32"]))
    schemes = data["int8_schemes_one_mlp"]
    out.append("\n**int8 schemes on one decoder MLP**, ms per call:\n")
    out.append(table(["variant", "1 row", "16 rows", "max abs error, 16 rows"],
                     [[k, v["ms_1_rows"], v["ms_16_rows"], v["max_abs_error_16_rows"]] for k, v in schemes.items()]))
    return "\n".join(out)


def answers(data: dict[str, Any]) -> str:
    """bench_answers writes its per-language x per-tier table as Markdown itself."""
    return data["markdown"]


def replicas(data: dict[str, Any]) -> str:
    tp = data["throughput"]
    out = [f"**Replicas on PostgreSQL + Redis behind {data['haproxy'].split(' - ')[0]}**, {tp['concurrency']} clients, "
           f"rounds of {tp['duration_s']:.0f} s:\n",
           table(["target", "saturation req/s", "replica CPU ms/request", "p50 ms", "p99 ms", "errors"],
                 [[n, t["saturation_rps"], t["replica_cpu_ms_per_request"], t["latency_ms_p50"], t["latency_ms_p99"], t["errors"]]
                  for n, t in tp["targets"].items()]),
           f"\n2 replicas / 1 replica: **{tp['rps_ratio_2_over_1']:.2f}x** the req/s.\n",
           "**Router rollback and roll-forward under load**, through HAProxy:\n",
           table(["switch", "requests", "failed", "last old answer after the switch, per replica (s)", "old answers after 1 s"],
                 [[w["switch"], w["requests"], w["failed"], ", ".join(f"{r} {v}" for r, v in w["seconds_until_every_replica_serves_new"].items()),
                   w["old_served_after_1s"]] for w in data["switches"]])]
    return "\n".join(out)


def profile(data: dict[str, Any]) -> str:
    """py-spy's shares per profiled server: one column per run (this checkout, or the one it was compared with)."""
    runs = data["runs"]
    load = f"paced at {data['load_rate']:.0f} req/s" if data.get("load_rate") else "closed loop"
    head = [f"{r['checkout']} {r['commit']}" for r in runs]
    parts = list(dict.fromkeys(k for r in runs for k in r["share"]))
    rows = [["req/s", *(f"{r['rps']:.0f}" for r in runs)], ["server CPU ms per request", *(r["server_cpu_ms_per_request"] for r in runs)],
            ["busy samples", *(r["busy_samples"] for r in runs)]]
    rows += [[k, *(f"{r['share'].get(k, 0.0):.1%}" for r in runs)] for k in parts]
    return (f"{data['py_spy']}, the {data['path']} path, {data['seconds']} s of samples a run, {load}:\n\n"
            + table(["", *head], rows))


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {"gateway": gateway, "gateway-passthrough": gateway, "gateway-passthrough-unpinned": gateway,
                                                         "gateway-governed": gateway, "router": router,
                                                         "hf_quant": hf_quant, "answers": answers, "replicas": replicas,
                                                         "gateway-profile": profile, "gateway-profile-governed": profile}


def render(paths: list[Path]) -> str:
    sections, summary = [], []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            sections.append(f"## {path.name}\n\nunreadable: {exc}\n")
            continue
        name = data.get("benchmark") or path.stem
        m = data.get("machine") or {}
        load = m.get("loadavg_at_start") or m.get("load_average_1m") or m.get("load_average_at_start")
        facts = [f"`{data['command']}`" if data.get("command") else None,
                 f"finished {data['finished_at']}" if data.get("finished_at") else None,
                 f"{data['wall_s']} s" if data.get("wall_s") is not None else None,
                 "**quick (smoke) run**" if data.get("quick") else None,
                 f"{m.get('cpus')} CPUs" if m.get("cpus") else None,
                 f"load average at start {load}" if load is not None else None,
                 f"commit {m['git_commit'][:10]}{' + uncommitted changes' if m.get('git_dirty') else ''}" if m.get("git_commit") else None]
        try:
            body = RENDERERS.get(name, generic)(data)
        except (KeyError, TypeError) as exc:  # an older file shape: fall back rather than fail the whole report
            body = f"(layout not recognised: {type(exc).__name__}: {exc})\n\n" + generic(data)
        sections.append(f"## {path.stem}\n\n" + "; ".join(f for f in facts if f) + "\n\n" + body + "\n")
        summary += [[path.stem, target, met] for target, met in _targets(data)]
    head = ["# Benchmark results", "",
            "Generated by `python bench/report.py` from `bench/results/*.json`; do not edit. "
            "The machine is shared (2 cores): compare ratios measured in one run, not absolute times across runs.", ""]
    if summary:
        head += ["## Targets", "", table(["results file", "target", "met"], summary), ""]
    return "\n".join(head + sections)


def main() -> None:
    paths = sorted(p for p in RESULTS.glob("*.json"))
    if not paths:
        sys.exit(f"no results in {RESULTS}: run a benchmark first")
    out = RESULTS / "README.md"
    out.write_text(render(paths), encoding="utf-8")
    print(f"wrote {out.relative_to(RESULTS.parent.parent)} from {len(paths)} results file(s)")


if __name__ == "__main__":
    main()
