"""`loopwright serve --workers 2` under concurrent load: no trace lost, and a rollback reaches every worker."""

from __future__ import annotations

import threading
import time

import httpx

from loopwright.corpus import commits
from loopwright.observe.traces import get_trace
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.release import releases
from loopwright.release.switch import served_commit, switch_under_load
from loopwright.samples.bank.questions import LOAD_QUESTIONS
from loopwright.server.process import ServeProcess


def _health_by_worker(url: str, want: int, timeout: float = 90.0) -> dict[int, int]:
    """worker pid -> deployment version, from /healthz on fresh connections until `want` workers have answered."""
    seen: dict[int, int] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/healthz", timeout=5)  # a new connection each time: the kernel picks the worker
        except httpx.TransportError:
            continue
        if r.status_code == 200:
            seen[r.json()["worker"]] = r.json()["deployment_version"]
    return seen


def test_two_workers_lose_no_trace_and_all_take_a_rollback(bank, new_key):
    old = get_deployment(bank).stable("corpus")
    commits.stage_certify(bank, "flexpay-2-0")
    new = commits.commit(bank, "certify FlexPay 2.0")
    set_stable(bank, "corpus", new.ref)
    key = new_key(bank)
    trace_ids: list[str] = []
    lock = threading.Lock()

    def served(body: dict) -> str | None:  # the commit that answered, and the trace id the reply names
        with lock:
            trace_ids.append(body["loopwright"]["trace_id"])
        return served_commit(body)

    server = ServeProcess(bank.root, workers=2).wait_ready()
    try:
        workers = _health_by_worker(server.url, 2)
        assert len(workers) == 2, f"only {len(workers)} worker answered: {server.output()[-500:]}"
        result = switch_under_load(server.url, key, "larkspur-assistant",
                                   lambda: releases.rollback(bank, "corpus", reason="test: workers"),
                                   questions=LOAD_QUESTIONS, clients=16, after_s=2.0, served=served)
        assert result.requests and result.failed == 0, (result.failed, server.output()[-800:])
        assert result.took(new.digest) < 1.0
        assert set(result.served_after(1.0)) == {old.digest}
        version = get_deployment(bank).version
        after = _health_by_worker(server.url, 2)
        assert set(after) == set(workers) and set(after.values()) == {version}, (after, version)
    finally:
        assert server.stop() == 0
    # SIGTERM drained both workers' trace queues: every reply's trace is in the store, exactly once
    ok = sum(status == 200 for _, status, _ in result.requests)
    assert len(trace_ids) == len(set(trace_ids)) >= ok
    for trace_id in trace_ids:
        assert get_trace(bank, trace_id)["id"] == trace_id
