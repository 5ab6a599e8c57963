"""Shared helpers for the benchmarks: results files, machine facts, workspaces, processes and a load generator.

The load generator runs in a process of its own (`python bench/common.py load ...`)
so it never shares an interpreter with what it measures. It speaks HTTP/1.1 over
raw keep-alive sockets on uvloop: a few tens of microseconds of CPU per request,
against the milliseconds a Python gateway spends, so it does not dominate the
measurement. Two modes:

- closed: `--concurrency` connections, each sending its next request as soon as
  the last answer arrives; measures saturation requests/s.
- paced: the same connections share a fixed total `--rate`; each request has a
  scheduled send time and its latency counts from that time, so a stall shows
  up as latency (no coordinated omission).

It only ever connects to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_PY = ROOT / ".venv" / "bin" / "python"
HOST = "127.0.0.1"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# --- figures ------------------------------------------------------------------------------------


def percentiles(values_ms: Sequence[float], points: Iterable[int] = (50, 90, 99)) -> dict[str, float]:
    """n, mean and the given percentiles of `values_ms` (milliseconds), rounded to microseconds."""
    import numpy as np

    if len(values_ms) == 0:
        return {"n": 0}
    a = np.asarray(values_ms, dtype=float)
    out: dict[str, float] = {"n": int(a.size), "mean": round(float(a.mean()), 3)}
    for p, v in zip(points, np.percentile(a, list(points)), strict=True):
        out[f"p{p}"] = round(float(v), 3)
    out["max"] = round(float(a.max()), 3)
    return out


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def machine_info() -> dict[str, Any]:
    """What the figures were measured on, including how busy the (shared) machine was."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip())
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": commit,
        "git_dirty": dirty,
    }


def write_result(name: str, data: Mapping[str, Any], *, started: float) -> Path:
    """Write `bench/results/<name>.json` with the command line, machine facts and wall time."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": " ".join(shlex.quote(a) for a in ["python", *sys.argv]),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_s": round(time.perf_counter() - started, 1),
        **data,
    }
    record.setdefault("machine", machine_info())
    record["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def print_table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table on stdout (no colour, so logs stay readable)."""
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return "-" if value is None else str(value)


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Process:
    """A child process in its own process group, stopped (SIGTERM, then SIGKILL) by `stop()`."""

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path, cwd: Path = ROOT,
                 cpus: set[int] | None = None):
        """`cpus`: the CPUs it (and every process it starts) may run on; None leaves it to the kernel."""
        self.name, self.argv, self.log_path = name, list(argv), log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU of this process and every descendant still running (from /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _descendants(self.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()
        return self.proc.returncode


def other_cpus(pinned: int | None) -> set[int] | None:
    """Every CPU this process may use except `pinned` (None: no pinning); where the upstream and the load go
    while a server under test has `pinned` to itself."""
    if pinned is None:
        return None
    rest = os.sched_getaffinity(0) - {pinned}
    return rest or None


LOAD_CPUS: set[int] | None = None  # set by a benchmark that pins its servers: the load generator stays off their CPU


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def wait_http(url: str, *, process: Process, timeout: float = 120.0, headers: Mapping[str, str] | None = None) -> float:
    """Poll `url` until it answers 200; returns seconds waited. Fails early when the process dies."""
    assert url.startswith(f"http://{HOST}:"), url
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited ({process.proc.returncode}) before answering:\n{process.tail()}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers or {})), timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{process.name} did not answer {url} within {timeout:.0f} s:\n{process.tail()}")


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, dict]:
    assert url.startswith(f"http://{HOST}:"), url
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


# --- load generation ----------------------------------------------------------------------------


UNIQUE = "{n}"  # in a load body: replaced by a tag unique to each request


def run_load(
    *,
    port: int,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    rate: float | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Drive 127.0.0.1:`port` from a separate process; returns its summary (see `_load_main`).

    A `{n}` in `body` is replaced by a tag unique to each request (e.g. `a1b2c3x3x17`).
    """
    spec = {
        "port": port, "path": path, "body": body.decode(), "headers": dict(headers), "concurrency": concurrency,
        "duration_s": duration_s, "warmup_s": warmup_s, "rate": rate,
    }
    out = subprocess.run(
        [str(VENV_PY), str(Path(__file__).resolve()), "load", json.dumps(spec)],
        capture_output=True, text=True, timeout=warmup_s + duration_s + timeout_s + 30,
        preexec_fn=(lambda: os.sched_setaffinity(0, LOAD_CPUS)) if LOAD_CPUS else None,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    port, path, concurrency = int(spec["port"]), spec["path"], int(spec["concurrency"])
    template = spec["body"]
    unique = UNIQUE in template  # each request its own text, so a response cache cannot answer it
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items())

    def request_bytes(tag: str) -> bytes:
        body = (template.replace(UNIQUE, tag) if unique else template).encode()
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    fixed = request_bytes("")
    run_id = os.urandom(3).hex()  # the server's cache outlives one run: tags must not repeat across runs
    rate = spec.get("rate")
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds: too coarse here
    t_start = clock() + 0.2  # every connection opens before the clock starts
    measure_from = t_start + float(spec["warmup_s"])
    t_end = measure_from + float(spec["duration_s"])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    completed = [0]

    async def one_connection(k: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        sent_count = 0
        interval = concurrency / rate if rate else 0.0
        next_at = t_start + (k / rate if rate else 0.0)
        try:
            while True:
                now = clock()
                if rate:
                    if next_at >= t_end:
                        return
                    if next_at > now:
                        # On time: the clock starts when the request goes out (the timer wakes us up to
                        # ~1 ms late, which is not the server's doing).
                        await asyncio.sleep(next_at - now)
                        sent = max(clock(), next_at)
                    else:
                        # Behind: the previous answer came late, so count from the scheduled time.
                        sent = next_at
                    next_at += interval
                else:
                    if now >= t_end:
                        return
                    sent = now
                sent_count += 1
                writer.write(request_bytes(f"{run_id}x{k}x{sent_count}") if unique else fixed)
                status = await _read_response(reader)
                done = clock()
                if sent >= measure_from and done <= t_end + 5:
                    latencies.append((done - sent) * 1e3)
                    statuses[status] = statuses.get(status, 0) + 1
                    if measure_from <= done <= t_end:
                        completed[0] += 1
                if status == 0:  # the server closed the connection: reopen
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
        except Exception as exc:  # counted, not raised: the summary says what failed
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()

    await asyncio.gather(*(one_connection(k) for k in range(concurrency)))
    ok = statuses.get(200, 0)
    return {
        "mode": "paced" if rate else "closed",
        "concurrency": concurrency,
        "target_rate": rate,
        "duration_s": spec["duration_s"],
        "requests": len(latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors[:5],
        "error_count": len(errors),
        "rps": round(completed[0] / float(spec["duration_s"]), 1),
        "latency_ms": percentiles(latencies),
    }


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); its status, or 0 when the peer closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return 0
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = None, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return 0 if close else status


def _load_main(spec_json: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(json.loads(spec_json)))))


# --- the sample bank ----------------------------------------------------------------------------

FIXED_DOCS = ("flexpay-2-0", "flexpay-2-0-es", "flexpay-2-0-vi")


def bank_workspace(root: Path, *, fixed: bool = True, triage: bool = True, reader: bool = True):
    """A workspace with the sample bank installed (with `reader`, its reader too), the triage head fitted and deployed,
    and (with `fixed`) the corpus fix live: FlexPay 2.0 and its -es/-vi versions certified, committed, deployed."""
    from loopwright.corpus import commits
    from loopwright.registry.deployment import set_stable
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.samples.bank.install import install_sample
    from loopwright.workspace import init_workspace

    ws = init_workspace(root, sample="bank", as_of=REFERENCE_DATE)
    install_sample(ws, reader=reader)  # the economics router's small tier is the reader (trained once, then cached)
    if triage:
        from loopwright.training.triage import fit_triage

        fit_triage(ws, deploy=True)
    if fixed:
        for doc in FIXED_DOCS:
            commits.stage_certify(ws, doc)
        made = commits.commit(ws, "Certify FlexPay 2.0 (en, es, vi)", author="bench")
        set_stable(ws, "corpus", made.artifact.ref, reason="bench: the corpus fix")
    return ws


def workspace_copy(template: Path, dest: Path):
    """A copy of the workspace at `template` (a few MB: SQLite file, blobs, indexes), opened.

    Each configuration a benchmark compares gets its own copy, so state that serving
    changes (a card a tool froze, a dispute it opened) cannot leak from one run into the next.
    """
    import shutil

    from loopwright.workspace import Workspace

    shutil.copytree(template, dest)
    return Workspace.open(dest)


def router_toml(base: str = "router.toml", **changes: Any) -> str:
    """A shipped router config (`router.toml` or `router-economics.toml`) with dotted-key changes, as TOML.

    router_toml("router.toml", **{"cache.enabled": True, "cache.normalise": False})
    """
    import tomllib

    import tomli_w

    from loopwright.samples.bank.install import CONFIG_DIR

    data = tomllib.loads((CONFIG_DIR / base).read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return tomli_w.dumps(data)


def deploy_router(ws, text: str, *, name: str = "bank", prices: bytes | None = None, reason: str = "bench"):
    """Register `text` as the next `router/<name>` (with the sample's prices) and put it live on stable."""
    from loopwright.registry import artifacts
    from loopwright.registry.deployment import set_stable
    from loopwright.samples.bank import DATA_DIR

    files = {"router.toml": text.encode("utf-8"), "prices.json": prices or (DATA_DIR / "prices.json").read_bytes()}
    artifact = artifacts.register(ws, "router", name, files, provenance={"source": "bench", "creator": "bench"})
    set_stable(ws, "router", artifact.ref, reason=reason)
    return artifact


def quiet_logs() -> None:
    """Keep library warnings (e.g. a transformers notice) off the benchmark's table."""
    import logging
    import warnings

    logging.basicConfig(level=logging.ERROR)
    for handler in logging.getLogger().handlers:  # some libraries (bm25s) set DEBUG on their own logger
        handler.setLevel(logging.ERROR)
    from loopwright.hf.quantize import IMPORT_NOISE

    for name in IMPORT_NOISE:  # torch logs through a handler of its own
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bench helpers")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("load", help="run the load generator on a JSON spec").add_argument("spec")
    args = parser.parse_args()
    if args.cmd == "load":
        _load_main(args.spec)
