"""The pass-through path's upstream client: loopwright's keep-alive pool against httpx's `AsyncClient`, side by side.

    python bench/bench_upstream_client.py            # 5 rounds of 4,000 calls each, 32 in flight
    python bench/bench_upstream_client.py --quick    # 2 rounds of 1,000

The `openai` backend's `agenerate` posts upstream through `serving/backends/keepalive.py`
(HTTP/1.1 keep-alive on the event loop, responses parsed by httptools). The alternative is
httpx's `AsyncClient` (what the openai SDK's async client is built on), with its keep-alive
pool. Both post the same JSON body to the same trivially fast upstream (bench/env/upstream.py,
on the other CPU) from one uvloop event loop (the loop `loopwright serve` runs), 32 calls in
flight; rounds alternate which goes first. Reported per client: this process's CPU time per
call (what a call costs the gateway's one core) and calls per second, medians over rounds.
Writes bench/results/upstream-client.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import HOST, Process, median, print_table  # noqa: E402

BODY = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "What APR applies to a 6-month FlexPay plan?"}]}).encode()


async def _keepalive(base: str, calls: int, concurrency: int) -> None:
    from loopwright.serving.backends.keepalive import KeepAlivePool

    pool = KeepAlivePool(base, headers={"authorization": "Bearer unused"})

    async def one() -> None:
        status, data = await pool.post("/chat/completions", BODY, timeout_s=10)
        assert status == 200 and data

    await _drive(one, calls, concurrency)
    pool.close()


async def _httpx(base: str, calls: int, concurrency: int) -> None:
    import httpx

    headers = {"authorization": "Bearer unused", "content-type": "application/json", "accept": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10,
                                 limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)) as client:

        async def one() -> None:
            r = await client.post("/chat/completions", content=BODY)
            assert r.status_code == 200 and r.content

        await _drive(one, calls, concurrency)


async def _drive(one, calls: int, concurrency: int) -> None:
    left = [calls]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(client: str, base: str, calls: int, concurrency: int) -> dict[str, float]:
    import uvloop

    run = {"keepalive": _keepalive, "httpx": _httpx}[client]
    uvloop.run(run(base, max(calls // 10, concurrency), concurrency))  # warm: connections, imports
    cpu, wall = time.process_time(), time.perf_counter()
    uvloop.run(run(base, calls, concurrency))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms_per_call": cpu * 1e3 / calls, "calls_per_s": calls / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--calls", type=int, default=None, help="calls per client per round")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    calls = args.calls or (1000 if args.quick else 4000)
    started = time.perf_counter()
    result = {"machine": common.machine_info(), "rounds": rounds, "calls": calls, "concurrency": args.concurrency}
    import httpx

    result["httpx"] = httpx.__version__
    runs: dict[str, list[dict[str, float]]] = {"keepalive": [], "httpx": []}
    os.sched_setaffinity(0, {0})  # this process (the gateway's part) on one CPU, the upstream on the other
    with tempfile.TemporaryDirectory(prefix="upstream-client-") as tmp:
        port = common.free_port()
        upstream = Process("upstream", [str(common.VENV_PY), str(common.BENCH / "env" / "upstream.py"), "--port", str(port)],
                           log=Path(tmp) / "upstream.log", cpus={1})
        try:
            common.wait_http(f"http://{HOST}:{port}/v1/models", process=upstream)
            base = f"http://{HOST}:{port}/v1"
            for r in range(rounds):
                for client in (("keepalive", "httpx") if r % 2 == 0 else ("httpx", "keepalive")):
                    runs[client].append(measure(client, base, calls, args.concurrency))
        finally:
            upstream.stop()
    summary = {c: {k: round(median([x[k] for x in v]), 4) for k in v[0]} for c, v in runs.items()}
    result.update({"runs": runs, "summary": summary,
                   "httpx_over_keepalive_cpu": round(summary["httpx"]["cpu_ms_per_call"] / summary["keepalive"]["cpu_ms_per_call"], 2)})
    path = common.write_result("upstream-client", result, started=started)
    print_table(f"Upstream client, {rounds} rounds of {calls} calls, {args.concurrency} in flight", ["client", "CPU ms / call", "calls/s"],
                [[c, s["cpu_ms_per_call"], s["calls_per_s"]] for c, s in summary.items()])
    print(f"httpx / keep-alive pool: {result['httpx_over_keepalive_cpu']}x the CPU per call\nwrote {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
