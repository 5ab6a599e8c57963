"""Gateway benchmark: pass-through overhead against LiteLLM's proxy, the governed path's stages, and the cache.

    python bench/bench_gateway.py            # full size (about 6 minutes on 2 cores)
    python bench/bench_gateway.py --quick    # smoke run (about 2 minutes)

Part 1, pass-through overhead (one run, side by side). A trivially fast
OpenAI-compatible upstream (bench/env/upstream.py) runs on 127.0.0.1; in front
of it, `loopwright serve` on a workspace whose router artifact says
`mode = "passthrough"` (tier `bench-model`, backend `openai`), and LiteLLM's
proxy (`litellm --config`, one uvicorn worker, master-key auth, from
bench/env/litellm/.venv made by bench/env/setup_litellm.sh). A load generator
in its own process (raw keep-alive HTTP/1.1 on uvloop, bench/common.py) drives
each target with 32 concurrent clients:

- closed loop (each client sends again as soon as it is answered): saturation
  requests/s, and the server process's CPU time per request;
- paced (a fixed total rate below every target's saturation, the same rate for
  all): latency; overhead = a proxy's percentile minus the direct-to-upstream
  percentile at the same rate.

Targets are measured in rounds, their order rotating each round, and each
figure is the median over rounds, because the machine is shared and drifts.

Part 2, the governed path in-process (`Gateway.complete`) on the sample bank
(triage fitted and deployed, the FlexPay fix committed): latency of each
stage (triage, retrieval, generation...) from the traces; triage per call at
torch's default thread count versus one thread; cache hit versus miss latency
on the same questions; and the hit rate on `simulate` traffic with
`[cache] normalise = true` and `false`. Each phase runs on its own copy of
the workspace, so tool actions in one cannot change another.

Part 3, time to first token through the gateway, streamed versus buffered.
An OpenAI-compatible upstream in this process (tests/upstream.py) streams a
40-word answer of several sentences with a pause before each word, as a model
decoding at `--word-ms` per token would; the gateway serves it pass-through
(the same workspace as part 1) in a real uvicorn server. The official
`openai` client asks each question once with `stream=True` (first content
chunk: the first sentence, released once output policy has checked it) and
once without (the first byte of the answer is the whole answer).

Writes bench/results/gateway.json (gateway-ttft.json with --only-ttft) and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import HOST, Process, median, percentiles, print_table  # noqa: E402

LITELLM_VENV = common.BENCH / "env" / "litellm" / ".venv"
MODEL = "bench-model"
TARGETS_P50_MS, TARGETS_P99_MS, TARGET_RPS_RATIO, TARGET_CACHE_SPEEDUP = 1.0, 5.0, 2.0, 20.0
TARGET_CPU_MS, TARGET_RPS = 1.0, 1000.0
STAGES = ("auth", "input_policy", "cache", "triage", "retrieval", "route", "tools", "generate", "output_policy")


# --- part 1: pass-through overhead ------------------------------------------------------------------


def _passthrough_workspace(root: Path, upstream_port: int, *, mask: bool = True):
    """A workspace serving only pass-through: the sample's policy set (PII in and out) and a router that
    forwards model `bench-model` to the local upstream, with the response cache on (every request misses).
    `mask=False`: the same policy with no PII entity listed, so nothing is detected in or out."""
    from loopwright.registry import artifacts
    from loopwright.registry.deployment import set_stable
    from loopwright.samples.bank.install import CONFIG_DIR
    from loopwright.serving.auth import create_key
    from loopwright.workspace import init_workspace

    ws = init_workspace(root, name="bench-passthrough")
    text = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    if not mask:  # "Entities not listed are not detected" (PiiRules.actions)
        text = re.sub(r"(?m)^(\[pii\.actions\]\n)(?:[A-Z_]+ = \"\w+\"\n)+", r"\1", text)
    policy = artifacts.register(ws, "policy", "bank", {"policy.toml": text.encode()},
                                provenance={"source": "bench", "creator": "bench"})
    set_stable(ws, "policy", policy.ref, reason="bench: the sample's policy set")
    router = (
        'mode = "passthrough"\n\n'
        f"[tiers.{MODEL}]\n"
        'backend = "openai"\n'
        'price = "large"\n'
        f'options = {{ base_url = "http://{HOST}:{upstream_port}/v1", timeout_s = 10, max_retries = 0 }}\n\n'
        "[cache]\n"
        "enabled = true\n"
    )
    common.deploy_router(ws, router, name="passthrough", reason="bench: pass-through to the local upstream")
    key, _ = create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",))
    return ws, key


def _litellm_config(path: Path, upstream_port: int, master_key: str) -> None:
    path.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://{HOST}:{upstream_port}/v1\n"
        "      api_key: unused\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  set_verbose: false\n"
        "general_settings:\n"
        f"  master_key: {master_key}\n",
        encoding="utf-8",
    )


def _litellm_version() -> str | None:
    py = LITELLM_VENV / "bin" / "python"
    if not py.exists():
        return None
    import subprocess

    out = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"], capture_output=True, text=True)
    return out.stdout.strip() or None


def overhead(args, tmp: Path) -> dict[str, Any]:
    logs = tmp / "logs"
    logs.mkdir()
    procs: list[Process] = []
    try:
        up_port = common.free_port()
        pinned = None if args.pin is None else {args.pin}
        upstream = Process("upstream", [str(common.VENV_PY), str(common.BENCH / "env" / "upstream.py"), "--port", str(up_port)], log=logs / "upstream.log",
                           cpus=common.other_cpus(args.pin))
        procs.append(upstream)
        common.wait_http(f"http://{HOST}:{up_port}/v1/models", process=upstream)

        ws, key = _passthrough_workspace(tmp / "passthrough", up_port)
        ws.close()
        lw_port = common.free_port()
        loopwright = Process(
            "loopwright",
            [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(lw_port), "--workspace", str(tmp / "passthrough")],
            log=logs / "loopwright.log", cpus=pinned,
        )
        procs.append(loopwright)
        common.wait_http(f"http://{HOST}:{lw_port}/healthz", process=loopwright)

        targets: dict[str, dict[str, Any]] = {
            "direct": {"port": up_port, "headers": {}, "process": upstream},
            "loopwright": {"port": lw_port, "headers": {"Authorization": f"Bearer {key}"}, "process": loopwright},
        }
        if not args.no_unmasked:  # the same gateway with no PII entity in its policy: what masking costs
            ws_off, key_off = _passthrough_workspace(tmp / "passthrough-nomask", up_port, mask=False)
            ws_off.close()
            off_port = common.free_port()
            off = Process("loopwright-nomask", [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(off_port),
                                                "--workspace", str(tmp / "passthrough-nomask")], log=logs / "loopwright-nomask.log", cpus=pinned)
            procs.append(off)
            common.wait_http(f"http://{HOST}:{off_port}/healthz", process=off)
            targets["loopwright-nomask"] = {"port": off_port, "headers": {"Authorization": f"Bearer {key_off}"}, "process": off}
        if args.workers > 1:  # the same workspace served by `serve --workers N`: CPU counted over every worker
            many_port, many_name = common.free_port(), f"loopwright-{args.workers}w"
            many = Process(
                many_name,
                [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(many_port),
                 "--workers", str(args.workers), "--workspace", str(tmp / "passthrough")],
                log=logs / f"{many_name}.log",
            )
            procs.append(many)
            common.wait_http(f"http://{HOST}:{many_port}/healthz", process=many)
            targets[many_name] = {"port": many_port, "headers": {"Authorization": f"Bearer {key}"}, "process": many}
        litellm_version = None if args.no_litellm else _litellm_version()
        litellm_note = None
        if args.no_litellm:
            litellm_note = "skipped (--no-litellm)"
        elif litellm_version is None:
            litellm_note = "not installed: run `bash bench/env/setup_litellm.sh`"
        else:
            ll_port, master = common.free_port(), "sk-bench-" + os.urandom(8).hex()
            _litellm_config(tmp / "litellm.yaml", up_port, master)
            litellm = Process(
                "litellm",
                [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(tmp / "litellm.yaml"), "--host", HOST, "--port", str(ll_port), "--num_workers", "1"],
                # No route out: use the bundled price map. ERROR is LiteLLM's production log level (no access log).
                env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"},
                log=logs / "litellm.log", cpus=pinned,
            )
            procs.append(litellm)
            common.wait_http(f"http://{HOST}:{ll_port}/health/liveliness", process=litellm, timeout=180)
            targets["litellm"] = {"port": ll_port, "headers": {"Authorization": f"Bearer {master}"}, "process": litellm}

        # `{n}` becomes a tag unique to each request: loopwright's cache is looked up (and filled) but never hits.
        body = {"model": MODEL, "messages": [{"role": "user", "content": "What APR applies to a 6-month FlexPay plan? (ref q{n})"}]}
        for name, t in targets.items():  # every target answers, with the upstream's text
            one = {**body, "messages": [{"role": "user", "content": body["messages"][0]["content"].replace(common.UNIQUE, "check")}]}
            status, reply = common.post_json(f"http://{HOST}:{t['port']}/v1/chat/completions", one, t["headers"])
            if status != 200 or "0% APR" not in reply["choices"][0]["message"]["content"]:
                raise RuntimeError(f"{name} answered {status}: {json.dumps(reply)[:400]}")
            # Warm-up: first-call imports, connection pools.
            common.run_load(port=t["port"], path="/v1/chat/completions", body=json.dumps(body).encode(), headers=t["headers"],
                            concurrency=args.concurrency, duration_s=1.0, warmup_s=0.5)
        payload = json.dumps(body).encode()

        def measure(name: str, rate: float | None) -> dict[str, Any]:
            t = targets[name]
            cpu0 = t["process"].cpu_seconds()
            out = common.run_load(port=t["port"], path="/v1/chat/completions", body=payload, headers=t["headers"],
                                  concurrency=args.concurrency, duration_s=args.duration, warmup_s=args.warmup, rate=rate)
            cpu = t["process"].cpu_seconds() - cpu0
            # CPU time over the whole window (warm-up included) per request sent in it: robust to a busy machine.
            sent = out["requests"] * (args.duration + args.warmup) / args.duration
            out["server_cpu_ms_per_request"] = round(cpu * 1e3 / max(sent, 1), 3)
            if out["ok"] != out["requests"] or out["error_count"]:
                print(f"  warning: {name}: {out['statuses']} {out['errors']}", file=sys.stderr)
            return out

        names = list(targets)
        closed: dict[str, list[dict]] = defaultdict(list)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                closed[name].append(measure(name, None))
                print(f"  round {r + 1} closed {name:10s} {closed[name][-1]['rps']:8.1f} req/s", file=sys.stderr)
        sat = {n: median([m["rps"] for m in closed[n]]) for n in names}

        proxies = [n for n in names if n != "direct"]
        rate = args.rate or max(10.0, round(args.rate_share * min(sat[n] for n in proxies), -1))
        paced: dict[str, list[dict]] = defaultdict(list)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                paced[name].append(measure(name, rate))
                lat = paced[name][-1]["latency_ms"]
                print(f"  round {r + 1} paced  {name:10s} p50 {lat['p50']:7.3f} ms  p99 {lat['p99']:7.3f} ms", file=sys.stderr)
    finally:
        for p in reversed(procs):
            p.stop()

    def med(runs: list[dict], *path: str) -> float:
        vals = []
        for m in runs:
            v: Any = m
            for k in path:
                v = v[k]
            vals.append(v)
        return round(median(vals), 3)

    summary: dict[str, Any] = {}
    for name in names:
        summary[name] = {
            "saturation_rps": med(closed[name], "rps"),
            "saturation_latency_ms": {p: med(closed[name], "latency_ms", p) for p in ("p50", "p99")},
            "server_cpu_ms_per_request": med(closed[name], "server_cpu_ms_per_request"),
            "paced_latency_ms": {p: med(paced[name], "latency_ms", p) for p in ("p50", "p90", "p99")},
            "errors": sum(m["requests"] - m["ok"] + m["error_count"] for m in closed[name] + paced[name]),
        }
    for name in proxies:
        s = summary[name]
        # Per round (direct and the proxy measured minutes apart at most), then the median.
        s["overhead_ms"] = {
            p: round(median([pr["latency_ms"][p] - pd["latency_ms"][p] for pr, pd in zip(paced[name], paced["direct"], strict=True)]), 3)
            for p in ("p50", "p90", "p99")
        }
        s["rps_fraction_of_direct"] = round(s["saturation_rps"] / summary["direct"]["saturation_rps"], 4)

    result: dict[str, Any] = {
        "config": {"concurrency": args.concurrency, "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds, "paced_rate_rps": rate, "pinned_cpu": args.pin},
        "litellm": {"version": litellm_version, "note": litellm_note},
        "targets": summary,
        "rounds": {"closed": dict(closed), "paced": dict(paced)},
        "traces": _trace_breakdown(tmp / "passthrough"),
    }
    lw = summary["loopwright"]
    checks = {  # issue #19 item 1, with PII masking on
        "overhead_p50_under_1ms": lw["overhead_ms"]["p50"] < TARGETS_P50_MS,
        "overhead_p99_under_5ms": lw["overhead_ms"]["p99"] < TARGETS_P99_MS,
        "server_cpu_at_most_1ms_per_request": lw["server_cpu_ms_per_request"] <= TARGET_CPU_MS,
        "at_least_1000_rps": lw["saturation_rps"] >= TARGET_RPS,
    }
    if "loopwright-nomask" in summary:
        off = summary["loopwright-nomask"]
        result["masking"] = {
            "cpu_ratio_masked_over_unmasked": round(lw["server_cpu_ms_per_request"] / off["server_cpu_ms_per_request"], 3),
            "rps_ratio_masked_over_unmasked": round(lw["saturation_rps"] / off["saturation_rps"], 3),
        }
    if "litellm" in summary:
        ratio = lw["saturation_rps"] / summary["litellm"]["saturation_rps"]
        result["rps_ratio_loopwright_over_litellm"] = round(ratio, 3)
        result["cpu_ratio_litellm_over_loopwright"] = round(summary["litellm"]["server_cpu_ms_per_request"] / lw["server_cpu_ms_per_request"], 3)
        checks["rps_at_least_2x_litellm"] = ratio >= TARGET_RPS_RATIO
    if args.workers > 1:
        many = summary[f"loopwright-{args.workers}w"]
        result["workers"] = {
            "workers": args.workers,
            "rps_ratio_over_one_process": round(many["saturation_rps"] / lw["saturation_rps"], 3),
            "cpu_ms_per_request_ratio_over_one_process": round(many["server_cpu_ms_per_request"] / lw["server_cpu_ms_per_request"], 3),
            "note": "one `serve` process against `serve --workers N` on the same workspace, same run, rounds rotating; "
            "on a machine with 2 shared cores the ratio is bounded by the cores the other work leaves",
        }
    result["targets_met"] = checks
    return result


def _trace_breakdown(root: Path) -> dict[str, Any]:
    """From the gateway's own traces (drained on SIGTERM): how many were written, and where in-process time went."""
    from loopwright.serving.trace_store import load_records
    from loopwright.workspace import Workspace

    ws = Workspace.open(root)
    try:
        records = list(load_records(ws))
    finally:
        ws.close()
    stages: dict[str, list[float]] = defaultdict(list)
    outside = []
    for r in records:
        for k, v in r.get("stages", {}).items():
            stages[k].append(v)
        outside.append(r["latency_ms"] - r.get("stages", {}).get("generate", 0.0))
    return {
        "written": len(records),
        "stage_ms": {k: percentiles(v) for k, v in sorted(stages.items())},
        "pipeline_ms_outside_generate": percentiles(outside),
        "note": "latency_ms covers Gateway.complete only (not HTTP parsing, validation or serialisation); "
        "generate includes the openai client's own request building and response parsing",
    }


# --- part 2: the governed path and the cache ----------------------------------------------------------


def _ask(gateway, request: dict[str, Any], model: str):
    """One simulated request, as its caller: the tenant's scopes come from the live policy."""
    from loopwright.serving.pipeline import ChatRequest

    role = "agent" if request["tenant"].endswith("staff") else "customer"
    principal = gateway.principal_for(request["tenant"], role, request.get("customer_id"), key_id="bench")
    return gateway.complete(ChatRequest(model=model, messages=[{"role": "user", "content": request["text"]}]), principal)


def governed(args, tmp: Path) -> dict[str, Any]:
    from loopwright.serving.trace_store import load_records
    from loopwright.release.judge import Observed, judge
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.simulate import simulate
    from loopwright.serving.cache import normalise
    from loopwright.serving.pipeline import Gateway

    t0 = time.perf_counter()
    template = tmp / "bank"
    common.bank_workspace(template).close()
    setup_s = time.perf_counter() - t0
    model = "larkspur-assistant"
    out: dict[str, Any] = {"setup_s": round(setup_s, 1)}

    # Stages: always-large, no cache (the shipped router.toml), so every request walks the whole path.
    # Each phase serves a fresh copy of the workspace: tool actions of one cannot change the next.
    ws = common.workspace_copy(template, tmp / "stages")
    common.deploy_router(ws, common.router_toml("router.toml"), reason="bench: always-large, no cache")
    stream = list(simulate(args.n_stages, args.seed))
    gateway = Gateway(ws, as_of=REFERENCE_DATE, watch=False)
    try:
        _ask(gateway, stream[0], model)  # loads the embedder, triage head, indexes: not a request's cost
        ids, wall = [], []
        for request in stream:
            t = time.perf_counter()
            ids.append(_ask(gateway, request, model).trace_id)
            wall.append((time.perf_counter() - t) * 1e3)
        gateway.writer.flush()
    finally:
        gateway.close()
    records = list(load_records(ws, ids=ids))
    ws.close()
    stage_ms: dict[str, list[float]] = defaultdict(list)
    retrieval_parts: dict[str, list[float]] = defaultdict(list)
    for r in records:
        for k in STAGES:  # a stage a request skipped (a tool, the cache when off) is left out, not counted as 0
            if k in r["stages"]:
                stage_ms[k].append(r["stages"][k])
        for k, v in ((r.get("retrieval") or {}).get("timings_ms") or {}).items():
            retrieval_parts[k].append(v)
    out["stages"] = {
        "requests": len(records),
        "router": "router.toml (always large, no cache)",
        "stage_ms": {k: percentiles(v) for k, v in stage_ms.items()},
        "retrieval_parts_ms": {k: percentiles(v) for k, v in sorted(retrieval_parts.items())},
        "trace_latency_ms": percentiles([r["latency_ms"] for r in records]),
        "wall_ms": percentiles(wall),
    }

    out["paced_server"] = _governed_paced(args, template, tmp / "paced")

    # Triage (one query embedding + the head) at torch's default intra-op threads versus one thread,
    # alternating blocks of fresh texts: on a shared 2-core machine the default's spin-waiting threads
    # can cost more than the model itself.
    import torch

    from loopwright.serving.triage import TriageModel

    ws = common.workspace_copy(template, tmp / "threads")
    triage_model = TriageModel.deployed(ws)
    ws.close()
    default_threads = torch.get_num_threads()
    known = {r["text"] for r in stream}
    texts = [r["text"] for r in simulate(args.n_threads * 4, args.seed + 2000) if r["text"] not in known]
    texts = list(dict.fromkeys(texts))[: args.n_threads]
    by_threads: dict[int, list[float]] = {default_threads: [], 1: []}
    block = 10
    try:
        for start in range(0, len(texts), 2 * block):
            for threads, chunk in ((default_threads, texts[start:start + block]), (1, texts[start + block:start + 2 * block])):
                torch.set_num_threads(threads)
                for text in chunk:
                    t = time.perf_counter()
                    triage_model.predict([text])
                    by_threads[threads].append((time.perf_counter() - t) * 1e3)
    finally:
        torch.set_num_threads(default_threads)
    out["triage_threads"] = {
        "default_threads": default_threads,
        "default_ms": percentiles(by_threads[default_threads]),
        "one_thread_ms": percentiles(by_threads[1]),
        "measured": "TriageModel.predict([text]) on distinct texts (no query cache), blocks of 10 alternating default / 1 thread",
    }

    # Cache hit versus miss: questions this process has never embedded (a true miss), each asked twice.
    ws = common.workspace_copy(template, tmp / "cache-latency")
    common.deploy_router(ws, common.router_toml("router.toml", **{"cache.enabled": True, "cache.normalise": True}),
                         reason="bench: always-large with the cache")
    # Keyed as the cache keys them (tenant + normalised text), so no question can hit another's entry.
    seen = {(r["tenant"], normalise(r["text"])) for r in stream}
    fresh = []
    for request in simulate(args.n_cache * 10, args.seed + 1000):
        key = (request["tenant"], normalise(request["text"]))
        if request["kind"] == "faq" and key not in seen:
            fresh.append(request)
            seen.add(key)
        if len(fresh) == args.n_cache:
            break
    gateway = Gateway(ws, as_of=REFERENCE_DATE, watch=False)
    try:
        _ask(gateway, stream[0], model)
        miss, hit, miss_cpu, hit_cpu, wrong = [], [], [], [], 0
        not_stored: Counter = Counter()
        for request in fresh:
            t, c = time.perf_counter(), time.thread_time()
            first = _ask(gateway, request, model)
            miss_ms, miss_cpu_ms = (time.perf_counter() - t) * 1e3, (time.thread_time() - c) * 1e3
            t, c = time.perf_counter(), time.thread_time()
            second = _ask(gateway, request, model)
            hit_ms, hit_cpu_ms = (time.perf_counter() - t) * 1e3, (time.thread_time() - c) * 1e3
            if not second.loopwright["cache_hit"]:  # the pipeline stores no answer that took an action or declined
                not_stored["tool" if first.loopwright.get("tools") else "declined" if first.loopwright.get("declined") else "other"] += 1
                continue
            wrong += first.loopwright["cache_hit"] or first.text != second.text
            miss.append(miss_ms)
            hit.append(hit_ms)
            miss_cpu.append(miss_cpu_ms)
            hit_cpu.append(hit_cpu_ms)
    finally:
        gateway.close()
        ws.close()
    out["cache_latency"] = {
        "questions": len(fresh),
        "pairs": len(hit),
        "not_stored": dict(not_stored),
        "miss_ms": percentiles(miss),
        "hit_ms": percentiles(hit),
        "miss_cpu_ms": percentiles(miss_cpu),
        "hit_cpu_ms": percentiles(hit_cpu),
        "speedup_p50": round(median(miss) / median(hit), 1) if hit else None,
        "speedup_cpu_p50": round(median(miss_cpu) / median(hit_cpu), 1) if hit else None,
        "unexpected": wrong,
        "measured": "Gateway.complete in-process (trace queued, not written): wall time and the calling thread's CPU time; "
        "first ask (a miss) then the same text again (a hit)",
    }

    # Hit rate on simulated traffic, with and without normalisation (router-economics, as shipped but for normalise).
    stream = list(simulate(args.n_hits, args.seed))
    upper = {"exact": 0, "normalised": 0}
    exact_seen, norm_seen = set(), set()
    for r in stream:  # what a perfect cache keyed on (tenant, text) could hit: a ceiling for each mode
        e, n = (r["tenant"], r["text"]), (r["tenant"], normalise(r["text"]))
        upper["exact"] += e in exact_seen
        upper["normalised"] += n in norm_seen
        exact_seen.add(e)
        norm_seen.add(n)
    hit_rates: dict[str, Any] = {"requests": len(stream), "seed": args.seed}
    for mode in (True, False):
        ws = common.workspace_copy(template, tmp / f"hits-normalise-{mode}")
        common.deploy_router(ws, common.router_toml("router-economics.toml", **{"cache.normalise": mode}),
                             reason=f"bench: economics router, normalise={mode}")
        gateway = Gateway(ws, as_of=REFERENCE_DATE, watch=False)
        try:
            hits, ids = 0, []
            for request in stream:
                c = _ask(gateway, request, model)
                hits += bool(c.loopwright["cache_hit"])
                ids.append(c.trace_id)
            gateway.writer.flush()
        finally:
            gateway.close()
        by_id = {r["id"]: r for r in load_records(ws, ids=ids)}
        ws.close()
        passed = sum(judge(req["expect"], Observed.from_trace(by_id[i])).passed for req, i in zip(stream, ids, strict=True))
        # Repeats the cache did not answer, by what the first answer to that key was (it stores neither kind).
        first: dict[tuple[str, str], dict] = {}
        missed: Counter = Counter()
        for request, trace_id in zip(stream, ids, strict=True):
            record = by_id[trace_id]
            key = (request["tenant"], normalise(request["text"]) if mode else request["text"])
            if key in first and not record["cache"]["hit"]:
                was = first[key]
                missed["first answer took a tool action" if was.get("tools") else f"first answer {was['outcome']}"] += 1
            first.setdefault(key, record)
        hit_rates["normalise" if mode else "exact"] = {
            "hits": hits, "hit_rate": round(hits / len(stream), 4), "accuracy": round(passed / len(stream), 4),
            "repeats_not_answered_from_cache": dict(missed),
        }
    hit_rates["ceiling"] = {k: round(v / len(stream), 4) for k, v in upper.items()}
    out["cache_hit_rate"] = hit_rates
    out["targets_met"] = {"cache_hit_20x_faster": (out["cache_latency"]["speedup_p50"] or 0) >= TARGET_CACHE_SPEEDUP}
    return out


# --- main -----------------------------------------------------------------------------------------------


TTFT_ANSWER = (
    "FlexPay 2.0 splits a purchase into equal monthly payments. Plans of 3 or 6 months are at 0% APR. "
    "Longer plans carry the APR shown before you accept. There is no fee to set a plan up, and a late "
    "payment costs the fee in your agreement."
)


def _governed_paced(args, template: Path, root: Path) -> dict[str, Any]:
    """Issue #19 item 3: `loopwright serve` on the bank (always large, no cache), the load generator paced at
    `--governed-rate`; from the traces, each call's server time outside generation (latency_ms, which starts
    when the call is opened, waits for a worker thread included, minus the generate stage)."""
    from loopwright.serving.auth import create_key
    from loopwright.serving.trace_store import load_records

    ws = common.workspace_copy(template, root)
    common.deploy_router(ws, common.router_toml("router.toml"), reason="bench: always-large, no cache")
    key, _ = create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",))
    ws.close()
    port = common.free_port()
    server = Process("loopwright-governed", [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(port),
                                             "--workspace", str(root)], log=root.parent / "governed-serve.log")
    headers = {"Authorization": f"Bearer {key}"}
    body = json.dumps({"model": "larkspur-assistant", "messages": [{"role": "user", "content": "What is the late fee for FlexPay 2.0? (ref {n})"}]}).encode()
    try:
        common.wait_http(f"http://{HOST}:{port}/healthz", process=server)
        common.run_load(port=port, path="/v1/chat/completions", body=body, headers=headers, concurrency=8, duration_s=2.0, warmup_s=0.5,
                        rate=min(args.governed_rate, 20.0))  # first calls: the embedder's and the head's first forward passes
        cpu0 = server.cpu_seconds()
        load = common.run_load(port=port, path="/v1/chat/completions", body=body, headers=headers, concurrency=args.concurrency,
                               duration_s=args.governed_duration, warmup_s=0.0, rate=args.governed_rate)
        cpu = server.cpu_seconds() - cpu0
    finally:
        server.stop()
    from loopwright.workspace import Workspace

    ws = Workspace.open(root)
    try:
        records = [r for r in load_records(ws) if "(ref " in (r.get("input") or "")]
    finally:
        ws.close()
    records = records[-load["requests"]:] if load["requests"] else records
    outside = [r["latency_ms"] - r.get("stages", {}).get("generate", 0.0) for r in records]
    stage_ms: dict[str, list[float]] = defaultdict(list)
    for r in records:
        for k, v in r.get("stages", {}).items():
            stage_ms[k].append(v)
    p = percentiles(outside)
    return {
        "rate_rps": args.governed_rate, "duration_s": args.governed_duration, "achieved_rps": load["rps"],
        "client_latency_ms": load["latency_ms"], "errors": load["requests"] - load["ok"] + load["error_count"],
        "server_cpu_ms_per_request": round(cpu * 1e3 / max(load["requests"], 1), 3), "traces": len(records),
        "outside_generation_ms": p, "stage_ms": {k: percentiles(v) for k, v in sorted(stage_ms.items())},
        "targets_met": {"outside_generation_p50_under_5ms": p["p50"] < 5.0, "outside_generation_p99_under_15ms": p["p99"] < 15.0},
    }


def ttft(args, tmp: Path) -> dict[str, Any]:
    """Time to the first content through the gateway, streamed and buffered, on an upstream that decodes slowly."""
    import openai

    sys.path.insert(0, str(common.ROOT / "tests"))
    from upstream import ThreadedServer, Upstream

    from loopwright.server.app import create_app

    words = len(TTFT_ANSWER.split())
    with Upstream(answer=TTFT_ANSWER) as up:
        ws, key = _passthrough_workspace(tmp / "ttft", up.port)
        with ThreadedServer(create_app(ws)) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)

            def streamed_call(question: str) -> tuple[float, float]:
                # Streamed, the upstream pauses before each word; buffered, it answers after all of them.
                up.chunk_delay_s, up.delay_s = args.word_ms / 1e3, 0.0
                t0, first = time.perf_counter(), None
                messages = [{"role": "user", "content": question}]
                for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.perf_counter() - t0
                return first * 1e3, (time.perf_counter() - t0) * 1e3

            def buffered_call(question: str) -> float:
                up.chunk_delay_s, up.delay_s = 0.0, words * args.word_ms / 1e3
                t0 = time.perf_counter()
                client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
                return (time.perf_counter() - t0) * 1e3

            streamed_call("warm-up, streamed")  # first calls load the policy's recognisers: not measured
            buffered_call("warm-up, buffered")
            streamed, buffered, streamed_total = [], [], []
            for i in range(args.n_ttft):  # each question new, so none is a cache hit
                first, total = streamed_call(f"What does FlexPay 2.0 cost? ({i})")
                streamed.append(first)
                streamed_total.append(total)
                buffered.append(buffered_call(f"What does FlexPay 2.0 cost? ({i}).."))
            client.close()
        ws.close()
    s50, b50 = percentiles(streamed)["p50"], percentiles(buffered)["p50"]
    return {
        "requests": args.n_ttft, "answer_words": words, "word_ms": args.word_ms,
        "streamed_ttft_ms": percentiles(streamed), "streamed_total_ms": percentiles(streamed_total),
        "buffered_ttft_ms": percentiles(buffered), "ttft_ratio_buffered_over_streamed_p50": round(b50 / s50, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-sized run: 1 round of 2 s, 40/20/120 requests")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per target and mode (default 8, quick 2)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds discarded before each measurement (default 2, quick 0.5)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds over all targets (default 3, quick 1)")
    parser.add_argument("--rate", type=float, default=None, help="paced total rate, req/s (default: --rate-share of the slowest proxy's saturation)")
    parser.add_argument("--rate-share", type=float, default=0.5, help="paced rate as a share of the slowest proxy's saturation rps")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument("--no-unmasked", action="store_true", help="leave out the gateway whose policy masks no PII")
    parser.add_argument("--pin", type=int, default=None, help="pin loopwright (one process) and LiteLLM to this CPU, the upstream and "
                        "the load generator to the others (`--workers N` stays unpinned)")
    parser.add_argument("--workers", type=int, default=2, help="also measure `serve --workers N` beside one process (1: leave it out)")
    parser.add_argument("--skip-passthrough", action="store_true", help="run only the governed-path and cache part")
    parser.add_argument("--skip-governed", action="store_true", help="run only the pass-through part")
    parser.add_argument("--n-stages", type=int, default=None, help="simulated requests timed per stage (default 300, quick 40)")
    parser.add_argument("--n-cache", type=int, default=None, help="distinct questions for hit vs miss (default 100, quick 20)")
    parser.add_argument("--n-hits", type=int, default=None, help="simulated requests for the hit rate (default 600, quick 120)")
    parser.add_argument("--n-threads", type=int, default=None, help="fresh texts for triage at default vs 1 torch thread (default 120, quick 40)")
    parser.add_argument("--seed", type=int, default=7, help="simulate seed")
    parser.add_argument("--governed-rate", type=float, default=100.0, help="paced req/s at the governed server (issue #19 item 3)")
    parser.add_argument("--governed-duration", type=float, default=None, help="seconds of paced governed load (default 10, quick 4)")
    parser.add_argument("--skip-ttft", action="store_true", help="leave out time to first token, streamed vs buffered")
    parser.add_argument("--only-ttft", action="store_true", help="run only time to first token, streamed vs buffered")
    parser.add_argument("--n-ttft", type=int, default=None, help="questions asked streamed and buffered (default 20, quick 5)")
    parser.add_argument("--word-ms", type=float, default=20.0, help="the upstream's pause before each streamed word")
    args = parser.parse_args()
    q = args.quick
    args.duration = args.duration or (2.0 if q else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if q else 2.0)
    args.rounds = args.rounds or (1 if q else 3)
    args.n_stages = args.n_stages or (40 if q else 300)
    args.n_cache = args.n_cache or (20 if q else 100)
    args.n_hits = args.n_hits or (120 if q else 600)
    args.n_threads = args.n_threads or (40 if q else 120)
    args.n_ttft = args.n_ttft or (5 if q else 20)
    args.governed_duration = args.governed_duration or (4.0 if q else 10.0)
    if args.only_ttft:
        args.skip_passthrough = args.skip_governed = True
    common.LOAD_CPUS = common.other_cpus(args.pin)
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()
    result: dict[str, Any] = {"quick": q, "machine": machine}
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)  # SQLite in the throwaway workspace
        os.environ.pop("LOOPWRIGHT_REDIS_URL", None)  # the in-process cache
        if not args.skip_passthrough:
            result["passthrough"] = overhead(args, Path(tmp))
        if not args.skip_governed:
            result["governed"] = governed(args, Path(tmp))
        if not args.skip_ttft:
            result["ttft"] = ttft(args, Path(tmp))
    from loopwright.embedding import get_embedder

    machine["embedder"] = get_embedder().key if not args.skip_governed else None
    name = ("gateway-ttft" if args.only_ttft else "gateway-passthrough" if args.skip_governed and args.skip_ttft
            else "gateway-governed" if args.skip_passthrough and args.skip_ttft else "gateway")
    path = common.write_result(name, result, started=started)
    report(result)
    print(f"\nwrote {path.relative_to(common.ROOT)}")


def report(result: dict[str, Any]) -> None:
    tt = result.get("ttft")
    if tt:
        print_table(
            f"Time to first token through the gateway: {tt['requests']} questions, a {tt['answer_words']}-word answer "
            f"streamed by the upstream at {tt['word_ms']:.0f} ms a word (ms)",
            ["", "p50", "p90", "p99"],
            [[name, tt[key]["p50"], tt[key]["p90"], tt[key]["p99"]] for name, key in (
                ("streamed: first text", "streamed_ttft_ms"), ("streamed: last byte", "streamed_total_ms"),
                ("buffered: first (= last) byte", "buffered_ttft_ms"))],
        )
        print(f"  streamed, the first text arrives {tt['ttft_ratio_buffered_over_streamed_p50']}x sooner than a buffered answer at p50")
    pt = result.get("passthrough")
    if pt:
        cfg = pt["config"]
        rows = []
        for name, s in pt["targets"].items():
            o = s.get("overhead_ms", {})
            rows.append([name, s["saturation_rps"], s["server_cpu_ms_per_request"], s["paced_latency_ms"]["p50"], s["paced_latency_ms"]["p99"],
                         o.get("p50"), o.get("p99"), s["errors"]])
        print_table(
            f"Pass-through, {cfg['concurrency']} clients; paced at {cfg['paced_rate_rps']:.0f} req/s; median of {cfg['rounds']} round(s) x {cfg['duration_s']:.0f} s",
            ["target", "sat. req/s", "server CPU ms/req", "paced p50 ms", "paced p99 ms", "overhead p50", "overhead p99", "errors"],
            rows,
        )
        if "masking" in pt:
            print(f"  PII masking on / off: CPU per request {pt['masking']['cpu_ratio_masked_over_unmasked']:.2f}x, "
                  f"req/s {pt['masking']['rps_ratio_masked_over_unmasked']:.2f}x")
        if "workers" in pt:
            w = pt["workers"]
            print(f"  --workers {w['workers']} / one process: req/s {w['rps_ratio_over_one_process']:.2f}x, "
                  f"CPU per request {w['cpu_ms_per_request_ratio_over_one_process']:.2f}x")
        if "rps_ratio_loopwright_over_litellm" in pt:
            print(f"  loopwright / litellm req/s: {pt['rps_ratio_loopwright_over_litellm']:.2f}x   "
                  f"litellm / loopwright CPU per request: {pt['cpu_ratio_litellm_over_loopwright']:.2f}x")
        elif pt["litellm"]["note"]:
            print(f"  litellm: {pt['litellm']['note']}")
        tr = pt["traces"]
        print(f"  traces written: {tr['written']}; in-process pipeline outside generate: p50 {tr['pipeline_ms_outside_generate']['p50']} ms, "
              f"p99 {tr['pipeline_ms_outside_generate']['p99']} ms")
        print("  targets: " + ", ".join(f"{k}={'met' if v else 'NOT met'}" for k, v in pt["targets_met"].items()))
    gv = result.get("governed")
    if gv:
        st = gv["stages"]
        rows = [[k, v["n"], v["mean"], v["p50"], v["p90"], v["p99"]] for k, v in st["stage_ms"].items()]
        tl = st["trace_latency_ms"]
        rows.append(["total (trace)", tl["n"], tl["mean"], tl["p50"], tl["p90"], tl["p99"]])
        rows += [[f"  retrieval.{k}", v["n"], v["mean"], v["p50"], v["p90"], v["p99"]] for k, v in st["retrieval_parts_ms"].items()]
        print_table(f"Governed path per stage, {st['requests']} simulated requests, {st['router']} (ms)", ["stage", "n", "mean", "p50", "p90", "p99"], rows)
        ps = gv.get("paced_server")
        if ps:
            o = ps["outside_generation_ms"]
            print(f"  governed `loopwright serve` paced at {ps['rate_rps']:.0f} req/s ({ps['achieved_rps']:.0f} achieved, {ps['errors']} errors): "
                  f"server time outside generation p50 {o['p50']} ms, p99 {o['p99']} ms (targets < 5 / < 15 ms: "
                  f"{', '.join('met' if v else 'NOT met' for v in ps['targets_met'].values())}); "
                  f"{ps['server_cpu_ms_per_request']} ms server CPU per request")
        th = gv["triage_threads"]
        print_table("Triage per call: torch intra-op threads (ms)", ["threads", "n", "p50", "p90", "p99"], [
            [f"default ({th['default_threads']})", th["default_ms"]["n"], th["default_ms"]["p50"], th["default_ms"]["p90"], th["default_ms"]["p99"]],
            ["1", th["one_thread_ms"]["n"], th["one_thread_ms"]["p50"], th["one_thread_ms"]["p90"], th["one_thread_ms"]["p99"]]])
        cl = gv["cache_latency"]
        print_table(
            f"Cache: {cl['questions']} fresh questions, asked twice (ms)",
            ["", "p50", "p90", "p99"],
            [["miss", cl["miss_ms"]["p50"], cl["miss_ms"]["p90"], cl["miss_ms"]["p99"]], ["hit", cl["hit_ms"]["p50"], cl["hit_ms"]["p90"], cl["hit_ms"]["p99"]],
             ["miss (CPU)", cl["miss_cpu_ms"]["p50"], cl["miss_cpu_ms"]["p90"], cl["miss_cpu_ms"]["p99"]],
             ["hit (CPU)", cl["hit_cpu_ms"]["p50"], cl["hit_cpu_ms"]["p90"], cl["hit_cpu_ms"]["p99"]]],
        )
        print(f"  hit is {cl['speedup_p50']}x faster than a miss at p50 (target >= {TARGET_CACHE_SPEEDUP:.0f}x: "
              f"{'met' if gv['targets_met']['cache_hit_20x_faster'] else 'NOT met'}); in CPU time {cl['speedup_cpu_p50']}x; "
              f"{cl['pairs']} of {cl['questions']} stored (not stored: {cl['not_stored'] or 'none'}); unexpected: {cl['unexpected']}")
        hr = gv["cache_hit_rate"]
        print_table(
            f"Cache hit rate on simulate({hr['requests']}, seed {hr['seed']}), router-economics",
            ["keying", "hit rate", "ceiling", "accuracy"],
            [["normalised", hr["normalise"]["hit_rate"], hr["ceiling"]["normalised"], hr["normalise"]["accuracy"]],
             ["exact text", hr["exact"]["hit_rate"], hr["ceiling"]["exact"], hr["exact"]["accuracy"]]],
        )
        print("  ceiling: share of requests whose (tenant, key) came earlier; repeats not answered from the cache: "
              f"normalised {hr['normalise']['repeats_not_answered_from_cache'] or 'none'}, exact {hr['exact']['repeats_not_answered_from_cache'] or 'none'}")


if __name__ == "__main__":
    main()
