"""Where the gateway's CPU goes: py-spy on `loopwright serve` under load, pass-through or governed.

    python bench/profile_gateway.py                 # pass-through: 20 s of samples, 32 clients, closed loop
    python bench/profile_gateway.py --governed      # the governed path, paced at --load-rate (100 req/s)
    python bench/profile_gateway.py --py-spy PATH   # py-spy is not a project dependency: point at one

Pass-through: the same set-up as bench_gateway.py part 1 (a trivially fast upstream, the
sample's PII policy, the cache on and always missing); `py-spy record --gil -f raw` samples
the thread holding the GIL (a thread waiting for it, or idle in `select`, is not CPU).
Governed (`--governed`): bench_gateway.py's governed server (the sample bank, always large,
no cache, a new question text per request); py-spy samples every thread that is running
(not `--gil`: the encoder's forward runs in torch with the GIL released, and is CPU all
the same). Each sample is put in the part of the request path of the deepest frame a
rule names (so a regex run by the PII masker counts as input policy, not as `re`).
Writes bench/results/gateway-profile.json (gateway-profile-governed.json) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_gateway  # noqa: E402
import common  # noqa: E402
from common import HOST, Process, print_table  # noqa: E402

# (substring of a frame "function (file:line)", part): the deepest frame that matches decides, and within one
# frame the first rule (so a stage function by name before the file that holds it).
RULES = [
    ("_input_policy (", "input policy (PII masking)"),
    ("_triage (", "triage: the rest"),
    ("serving/triage.py", "triage: the rest"),
    ("embedding.py", "query embedding (MiniLM: tokenizer, forward)"),
    ("torch/", "query embedding (MiniLM: tokenizer, forward)"),
    ("transformers/", "query embedding (MiniLM: tokenizer, forward)"),
    ("_retrieve (", "retrieval: the rest"),
    ("corpus/retrieval.py", "retrieval: the rest"),
    ("_lexical_tops (", "retrieval: BM25"),
    ("corpus/index.py", "retrieval: index (masks, dense, fuse)"),
    ("_route (", "route"),
    ("language.py", "language detection"),
    ("_open (", "opening the call: bundle, trace record"),
    ("_generate (", "generate: the rest"),
    ("_cache (", "cache lookup and store"),
    ("record (", "record: metrics, trace to dict, queue"),
    ("refresh (", "deployment watcher"),
    ("uvicorn/", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("starlette/", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("fastapi/", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("anyio/", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("asyncio/", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("server/app.py", "HTTP server and framework (uvicorn, starlette, FastAPI, anyio, the event loop)"),
    ("openai/routes.py", "route: request model, response model (pydantic)"),
    ("server/deps.py", "authentication"),
    ("serving/auth.py", "authentication"),
    ("serving/pipeline.py", "the rest of Gateway.complete"),
    ("serving/call.py", "the rest of Gateway.complete"),
    ("serving/bundle.py", "bundle resolution"),
    ("serving/backends/", "the upstream call (backend, HTTP client)"),
    ("openai/_", "the upstream call (backend, HTTP client)"),
    ("httpx/", "the upstream call (backend, HTTP client)"),
    ("httpcore/", "the upstream call (backend, HTTP client)"),
    ("serving/output_policy.py", "output policy (PII check; governed: validators)"),
    ("policy/validators.py", "output policy (PII check; governed: validators)"),
    ("policy/claims.py", "output policy (PII check; governed: validators)"),
    ("serving/cache.py", "cache lookup and store"),
    ("serving/trace.py", "record: metrics, trace to dict, queue"),
    ("serving/metrics.py", "record: metrics, trace to dict, queue"),
    ("trace_store.py", "trace writer thread (SQLite inserts)"),
    ("release/controller.py", "release controller and SLO check"),
    ("observe/slo.py", "release controller and SLO check"),
]


# A thread blocked here holds no CPU, but py-spy without --gil counts it as running (its idle test misses these):
# the governed profile puts such leaf frames apart.
WAITS = ("Condition.wait", "Queue.get (", "Event.wait (", "Embedder._embed_ids (", "Embedder._embed_one (")  # _embed_one: main's name
WAITING = "waiting (the embedder's lock, a queue, a condition): not CPU"


def classify(stack: str) -> str:
    if any(w in stack.rpartition(";")[2] for w in WAITS):
        return WAITING
    part = "other"
    for frame in stack.split(";"):
        for needle, name in RULES:
            if needle in frame:
                part = name
                break
    return part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy executable")
    parser.add_argument("--seconds", type=int, default=20, help="seconds sampled")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--raw", type=Path, default=None, help="also keep py-spy's raw stacks in this folder")
    parser.add_argument("--pin", type=int, default=None, help="pin the server to this CPU (the rest to the others)")
    parser.add_argument("--governed", action="store_true", help="the governed path on the sample bank, not pass-through")
    parser.add_argument("--load-rate", type=float, default=None, help="paced req/s (default: closed loop; governed: 100)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout (e.g. a worktree of main): its server is profiled too, alternating, on the same workspace")
    parser.add_argument("--alternations", type=int, default=1, help="with --compare: profiles of each checkout")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="governed: a copy of this bank workspace (as `_governed_workspace` makes one; a customer key in WORKSPACE.key), "
                        "instead of setting one up")
    args = parser.parse_args()
    if args.governed and args.load_rate is None:
        args.load_rate = 100.0
    common.LOAD_CPUS = common.other_cpus(args.pin)
    common.quiet_logs()
    started = time.perf_counter()
    result: dict = {"machine": common.machine_info(), "path": "governed" if args.governed else "passthrough",
                    "load_rate": args.load_rate, "seconds": args.seconds, "rate": args.rate}
    checkouts = [("this", common.ROOT)] + ([("compare", args.compare.resolve())] if args.compare else [])
    runs = []
    with tempfile.TemporaryDirectory(prefix="profile-gateway-") as tmp_name:
        tmp = Path(tmp_name)
        procs: list[Process] = []
        try:
            if args.governed and args.workspace:
                shutil.copytree(args.workspace, tmp / "ws")
                key = args.workspace.with_suffix(".key").read_text().strip()
            elif args.governed:
                key = _governed_workspace(tmp / "ws")
            if args.governed:
                question, model = "What is the late fee for FlexPay 2.0? (ref {n})", "larkspur-assistant"
            else:
                up_port = common.free_port()
                upstream = Process("upstream", [str(common.VENV_PY), str(common.BENCH / "env" / "upstream.py"), "--port", str(up_port)],
                                   log=tmp / "upstream.log", cpus=common.other_cpus(args.pin))
                procs.append(upstream)
                common.wait_http(f"http://{HOST}:{up_port}/v1/models", process=upstream)
                ws, key = bench_gateway._passthrough_workspace(tmp / "ws", up_port)
                ws.close()
                question, model = "What APR applies to a 6-month FlexPay plan? (ref q{n})", bench_gateway.MODEL
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": question}]}).encode()
            for i in range(args.alternations):
                for label, checkout in (checkouts if i % 2 == 0 else checkouts[::-1]):
                    run = _profile(args, tmp, key, body, checkout)
                    runs.append({"checkout": label, "commit": _commit(checkout), **run})
                    if args.raw:
                        args.raw.mkdir(parents=True, exist_ok=True)
                        shutil.copy(tmp / "profile.txt", args.raw / f"{label}-{i}.txt")
        finally:
            for p in reversed(procs):
                p.stop()
    result["py_spy"] = subprocess.run([args.py_spy, "--version"], capture_output=True, text=True).stdout.strip()
    result["runs"] = runs
    path = common.write_result("gateway-profile-governed" if args.governed else "gateway-profile", result, started=started)
    for run in runs:
        print_table(f"{'Governed' if args.governed else 'Pass-through'} CPU by part, {run['checkout']} ({run['commit']}; "
                    f"{run['busy_samples']} busy samples; {run['rps']:.0f} req/s, {run['server_cpu_ms_per_request']} ms CPU per request)",
                    ["part", "share"], [[k, f"{v:.1%}"] for k, v in run["share"].items()])
    print(f"\nwrote {path.relative_to(common.ROOT)}")


def _profile(args, tmp: Path, key: str, body: bytes, checkout: Path) -> dict:
    """One `loopwright serve` from `checkout` on the workspace, warmed, then loaded while py-spy samples it."""
    port = common.free_port()
    env = {"PYTHONPATH": str(checkout)}
    server = Process("loopwright", [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(port),
                                    "--workspace", str(tmp / "ws")], log=tmp / "serve.log", env=env,
                     cpus=None if args.pin is None else {args.pin})
    try:
        common.wait_http(f"http://{HOST}:{port}/healthz", process=server)
        headers = {"Authorization": f"Bearer {key}"}
        # one caller first (what loads on first use loads once: main loaded the language identifier in every
        # thread of a first burst), then the full set of callers
        common.run_load(port=port, path="/v1/chat/completions", body=body, headers=headers, concurrency=1, duration_s=2, warmup_s=0.5)
        common.run_load(port=port, path="/v1/chat/completions", body=body, headers=headers, concurrency=args.concurrency, duration_s=2,
                        warmup_s=0.5, rate=min(args.load_rate, 20.0) if args.load_rate else None)
        raw = tmp / "profile.txt"
        threads = [] if args.governed else ["--gil"]
        spy = subprocess.Popen([args.py_spy, "record", "-p", str(server.pid), "-r", str(args.rate), "-d", str(args.seconds),
                                "-f", "raw", "-o", str(raw), "--nonblocking", *threads], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cpu0 = server.cpu_seconds()
        load = common.run_load(port=port, path="/v1/chat/completions", body=body, headers=headers, concurrency=args.concurrency,
                               duration_s=args.seconds + 2, warmup_s=0.0, rate=args.load_rate)
        cpu = server.cpu_seconds() - cpu0
        spy.wait(timeout=60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {spy.stderr.read().decode()[-500:]}")
    finally:
        server.stop()
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        parts[classify(stack)] += int(count)
        leaves[stack.split(";")[-1]] += int(count)
    total = sum(parts.values())
    return {
        "busy_samples": total, "rps": load["rps"], "errors": load["requests"] - load["ok"] + load["error_count"],
        "server_cpu_ms_per_request": round(cpu * 1e3 / max(load["requests"], 1), 3),
        "share": {k: round(v / total, 4) for k, v in parts.most_common()},
        "top_leaf_frames": {k: round(v / total, 4) for k, v in leaves.most_common(25)},
    }


def _commit(checkout: Path) -> str:
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def _governed_workspace(root: Path) -> str:
    """bench_gateway's governed server workspace (the bank, always large, no cache); returns a customer's key."""
    from loopwright.serving.auth import create_key

    ws = common.bank_workspace(root)
    try:
        common.deploy_router(ws, common.router_toml("router.toml"), reason="bench: always-large, no cache")
        return create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",))[0]
    finally:
        ws.close()


if __name__ == "__main__":
    main()
