"""Replicas behind a real load balancer: 1 vs 2 `loopwright serve` replicas on PostgreSQL + Redis behind
Debian's HAProxy, and a rollback reaching every replica under load.

    python bench/bench_replicas.py            # about 3 minutes on 2 cores
    python bench/bench_replicas.py --quick    # about 1 minute

Two trivially fast upstreams (bench/env/upstream.py) answer with different texts, A
and B. One workspace on a fresh PostgreSQL schema (LOOPWRIGHT_TEST_PG_URL, else the
local `test` database) and Redis (`LOOPWRIGHT_REDIS_URL`, else 127.0.0.1:6379, db 0)
serves pass-through: `router/replicas@1` forwards `bench-model` to A, `@2` to B, and
@2 is live. Two replicas (`loopwright serve`, one process each, sharing the store,
the blob folder and the Redis cache) sit behind HAProxy (tests/haproxy.py: round
robin, keep-alive, a health check every 500 ms, each answer naming its replica).

- Throughput: the load generator (bench/common.py, 32 clients, every request a new
  text so none is a cache hit) drives HAProxy balancing over one replica, then over
  both, in rotating rounds: saturation req/s and the replicas' CPU per request.
- Rollback under load: 16 clients ask through HAProxy (both replicas); the router is
  rolled back (B -> A), later rolled forward again (`set_stable` @2), `--switches`
  times in all. Per switch: for each replica, the time from the switch to the last
  request that still got the old upstream's text, and how many requests failed.

Writes bench/results/replicas.json and prints the tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import common  # noqa: E402
from common import HOST, Process, median, print_table  # noqa: E402
from haproxy import REPLICA_HEADER, HAProxy  # noqa: E402

MODEL = "bench-model"
ANSWERS = {"A": "Upstream A answers: FlexPay 2.0 is 0% APR.", "B": "Upstream B answers: FlexPay 2.0 is 0% APR."}
PG_URL = os.environ.get("LOOPWRIGHT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_SWITCH_S = 1.0


def _router(port: int) -> str:
    return (
        'mode = "passthrough"\n\n'
        f"[tiers.{MODEL}]\n"
        'backend = "openai"\nprice = "large"\n'
        f'options = {{ base_url = "http://{HOST}:{port}/v1", timeout_s = 10, max_retries = 1 }}\n\n'
        "[cache]\nenabled = true\n"
    )


def _workspace(root: Path, ports: dict[str, int]):
    """The shared workspace: the sample's policy, router @1 (A) then @2 (B) live, one key."""
    from loopwright.registry import artifacts
    from loopwright.registry.deployment import set_stable
    from loopwright.samples.bank.install import CONFIG_DIR
    from loopwright.serving.auth import create_key
    from loopwright.workspace import init_workspace

    ws = init_workspace(root, name="bench-replicas")
    policy = artifacts.register(ws, "policy", "bank", {"policy.toml": (CONFIG_DIR / "policy.toml").read_bytes()},
                                provenance={"source": "bench", "creator": "bench"})
    set_stable(ws, "policy", policy.ref, reason="bench: the sample's policy set")
    refs = {name: common.deploy_router(ws, _router(port), name="replicas", reason=f"bench: upstream {name}").ref
            for name, port in ports.items()}
    key, _ = create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",))
    return ws, key, refs


def _schema() -> tuple[str, Any]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return f"{PG_URL}?options=-csearch_path%3D{schema}", lambda: _drop(engine, schema)


def _drop(engine, schema: str) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke size: 1 round of 3 s, 2 switches")
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop clients for throughput")
    parser.add_argument("--duration", type=float, default=None, help="seconds per throughput measurement (default 6, quick 3)")
    parser.add_argument("--rounds", type=int, default=None, help="throughput rounds, order rotating (default 3, quick 1)")
    parser.add_argument("--switches", type=int, default=None, help="rollbacks and roll-forwards under load (default 4, quick 2)")
    parser.add_argument("--clients", type=int, default=16, help="clients during each switch")
    args = parser.parse_args()
    args.duration = args.duration or (3.0 if args.quick else 6.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.switches = args.switches or (2 if args.quick else 4)
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()
    database_url, drop = _schema()
    redis_url = os.environ.get("LOOPWRIGHT_REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {"LOOPWRIGHT_DATABASE_URL": database_url, "LOOPWRIGHT_REDIS_URL": redis_url, "HF_HUB_OFFLINE": "1"}
    os.environ.update(env)  # this process's own store calls (set-up, the rollbacks) go to the same store
    procs: list[Process] = []
    balancers: list[HAProxy] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp_name:
            tmp = Path(tmp_name)
            ports = {}
            for name, answer in ANSWERS.items():
                ports[name] = common.free_port()
                up = Process(f"upstream-{name}", [str(common.VENV_PY), str(common.BENCH / "env" / "upstream.py"), "--port",
                                                  str(ports[name]), "--answer", answer], log=tmp / f"upstream-{name}.log")
                procs.append(up)
                common.wait_http(f"http://{HOST}:{ports[name]}/v1/models", process=up)
            ws, key, refs = _workspace(tmp / "ws", ports)
            replicas: dict[str, Process] = {}
            addresses: dict[str, str] = {}
            for name in ("r1", "r2"):
                port = common.free_port()
                replicas[name] = Process(name, [str(common.ROOT / ".venv" / "bin" / "loopwright"), "serve", "--host", HOST, "--port", str(port),
                                                "--workspace", str(tmp / "ws")], env=env, log=tmp / f"{name}.log")
                procs.append(replicas[name])
                addresses[name] = f"{HOST}:{port}"
            for name, p in replicas.items():
                common.wait_http(f"http://{addresses[name]}/healthz", process=p)
            one = HAProxy({"r1": addresses["r1"]}).wait_ready()
            both = HAProxy(addresses).wait_ready()
            balancers += [one, both]
            headers = {"Authorization": f"Bearer {key}"}
            result: dict[str, Any] = {"quick": args.quick, "machine": machine, "haproxy": _haproxy_version(),
                                      "store": "postgresql", "cache": "redis"}
            result["throughput"] = _throughput(args, {"1 replica": (one, ["r1"]), "2 replicas": (both, ["r1", "r2"])}, replicas, headers)
            result["switches"] = _switches(args, ws, both, key, refs)
            result["targets_met"] = targets(result)
            ws.close()
    finally:
        for lb in balancers:
            lb.stop()
        for p in reversed(procs):
            p.stop()
        drop()
    path = common.write_result("replicas", result, started=started)
    report(result)
    print(f"\nwrote {path.relative_to(common.ROOT)}")


def _haproxy_version() -> str:
    import subprocess

    from haproxy import haproxy_binary

    return subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True).stdout.splitlines()[0]


def _throughput(args, targets: dict[str, tuple[HAProxy, list[str]]], replicas: dict[str, Process], headers) -> dict[str, Any]:
    body = ('{"model": "%s", "messages": [{"role": "user", "content": "What APR applies to a 6-month FlexPay plan? (ref q{n})"}]}' % MODEL).encode()
    names = list(targets)
    for lb, _ in targets.values():  # warm-up: connections, first-call imports
        common.run_load(port=lb.port, path="/v1/chat/completions", body=body, headers=headers, concurrency=args.concurrency, duration_s=1.0, warmup_s=0.5)
    runs: dict[str, list[dict]] = defaultdict(list)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            lb, serving = targets[name]
            cpu0 = sum(replicas[s].cpu_seconds() for s in serving)
            out = common.run_load(port=lb.port, path="/v1/chat/completions", body=body, headers=headers,
                                  concurrency=args.concurrency, duration_s=args.duration, warmup_s=1.0)
            cpu = sum(replicas[s].cpu_seconds() for s in serving) - cpu0
            sent = out["requests"] * (args.duration + 1.0) / args.duration
            out["replica_cpu_ms_per_request"] = round(cpu * 1e3 / max(sent, 1), 3)
            out["load_average"] = round(os.getloadavg()[0], 2)
            runs[name].append(out)
            print(f"  round {r + 1} {name:10s} {out['rps']:8.1f} req/s  {out['replica_cpu_ms_per_request']} ms CPU/req  "
                  f"errors {out['requests'] - out['ok'] + out['error_count']} {out['statuses']}", file=sys.stderr)
    summary = {n: {"saturation_rps": round(median([m["rps"] for m in runs[n]]), 1),
                   "replica_cpu_ms_per_request": round(median([m["replica_cpu_ms_per_request"] for m in runs[n]]), 3),
                   "latency_ms_p50": round(median([m["latency_ms"]["p50"] for m in runs[n]]), 3),
                   "latency_ms_p99": round(median([m["latency_ms"]["p99"] for m in runs[n]]), 3),
                   "errors": sum(m["requests"] - m["ok"] + m["error_count"] for m in runs[n])} for n in names}
    return {"targets": summary, "rps_ratio_2_over_1": round(summary["2 replicas"]["saturation_rps"] / summary["1 replica"]["saturation_rps"], 3),
            "rounds": dict(runs), "concurrency": args.concurrency, "duration_s": args.duration}


def _switches(args, ws, lb: HAProxy, key: str, refs: dict[str, str]) -> list[dict[str, Any]]:
    from loopwright.registry.deployment import set_stable
    from loopwright.release import releases
    from loopwright.release.switch import switch_under_load

    def served(body: dict) -> str | None:
        text = body["choices"][0]["message"]["content"]
        return next((name for name, answer in ANSWERS.items() if answer == text), None)

    questions = [f"What does FlexPay 2.0 cost? ({i})" for i in range(8)]
    out = []
    live = "B"
    for i in range(args.switches):
        if live == "B":
            switch, old = (lambda: releases.rollback(ws, "router", reason="bench: rollback under load")), "B"
        else:
            switch, old = (lambda: set_stable(ws, "router", refs["B"], reason="bench: roll forward under load")), "A"
        result = switch_under_load(lb.url, key, MODEL, switch, questions=questions, clients=args.clients,
                                   before_s=1.5, after_s=2.0, served=served, replica_header=REPLICA_HEADER)
        live = "A" if old == "B" else "B"
        per_replica = {r: round(s, 3) for r, s in sorted(result.took_on_each(old).items())}
        after = result.served_after(1.0)
        out.append({"switch": f"{old} -> {live}", "requests": len(result.requests), "failed": result.failed,
                    "seconds_until_every_replica_serves_new": per_replica,
                    "old_served_after_1s": sum(c == old for c in after),
                    "replicas_answering": sorted({r for r in result.replicas if r})})
        print(f"  switch {i + 1} {old} -> {live}: {per_replica} s, {result.failed} failed of {len(result.requests)}", file=sys.stderr)
    return out


def targets(result: dict[str, Any]) -> dict[str, bool]:
    """Issue #19 item 2: a rollback reaches every replica within 1 s, with no failed request."""
    worst = max(v for s in result["switches"] for v in s["seconds_until_every_replica_serves_new"].values())
    return {"every_replica_switched_within_1s": worst < TARGET_SWITCH_S,
            "no_failed_request_during_switches": sum(s["failed"] for s in result["switches"]) == 0,
            "both_replicas_answered": all(len(s["replicas_answering"]) == 2 for s in result["switches"])}


def report(result: dict[str, Any]) -> None:
    tp = result["throughput"]
    print_table(f"Replicas behind {result['haproxy']} on PostgreSQL + Redis, "
                f"{tp['concurrency']} clients, median of {len(next(iter(tp['rounds'].values())))} round(s) x {tp['duration_s']:.0f} s",
                ["target", "sat. req/s", "replica CPU ms/req", "p50 ms", "p99 ms", "errors"],
                [[n, s["saturation_rps"], s["replica_cpu_ms_per_request"], s["latency_ms_p50"], s["latency_ms_p99"], s["errors"]]
                 for n, s in tp["targets"].items()])
    print(f"  2 replicas / 1 replica: {tp['rps_ratio_2_over_1']:.2f}x the req/s")
    rows = [[s["switch"], s["requests"], s["failed"], ", ".join(f"{r} {v:.2f} s" for r, v in s["seconds_until_every_replica_serves_new"].items()),
             s["old_served_after_1s"]] for s in result["switches"]]
    print_table("Rollback and roll-forward of the router under load (through HAProxy, both replicas)",
                ["switch", "requests", "failed", "last old answer after the switch, per replica", "old after 1 s"], rows)
    worst = max(v for s in result["switches"] for v in s["seconds_until_every_replica_serves_new"].values())
    failed = sum(s["failed"] for s in result["switches"])
    print(f"  every replica served the new router within {worst:.2f} s of each switch (target < {TARGET_SWITCH_S:.0f} s: "
          f"{'met' if worst < TARGET_SWITCH_S else 'NOT met'}); failed requests: {failed}")


if __name__ == "__main__":
    main()
