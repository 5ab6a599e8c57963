"""Two `loopwright serve` replicas on PostgreSQL + Redis behind Debian's HAProxy: both serve, a rollback under
load reaches each within a second with no failed request, and every answered call's trace is stored once."""

from __future__ import annotations

import signal
import threading

import httpx
import pytest
from haproxy import REPLICA_HEADER, HAProxy
from live import deploy_passthrough
from upstream import Upstream

from loopwright.observe.traces import get_trace
from loopwright.registry.deployment import get_deployment
from loopwright.release import releases
from loopwright.release.switch import switch_under_load
from loopwright.server.process import ServeProcess

pytestmark = pytest.mark.slow  # two servers, a load balancer and 5 s of load: ~40 s on 2 shared cores
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_replicas_behind_haproxy_take_a_rollback_under_load(workspace, new_key):
    with Upstream(answer="Answer from A.") as a, Upstream(answer="Answer from B.") as b:
        deploy_passthrough(workspace, a.url)
        deploy_passthrough(workspace, b.url)  # live: B; a rollback goes back to A
        key = new_key(workspace, tenant="acme", role="app")
        env = {"LOOPWRIGHT_REDIS_URL": REDIS_URL}  # the database URL is the fixture's, inherited
        replicas = [ServeProcess(workspace.root, env=env) for _ in range(2)]
        try:
            for r in replicas:
                r.wait_ready()
            with HAProxy({f"r{i}": f"127.0.0.1:{r.port}" for i, r in enumerate(replicas, 1)}) as lb:
                trace_ids: list[str] = []
                lock = threading.Lock()

                def served(body: dict) -> str | None:
                    with lock:
                        trace_ids.append(body["loopwright"]["trace_id"])
                    return body["choices"][0]["message"]["content"]

                result = switch_under_load(lb.url, key, "upstream-model",
                                           lambda: releases.rollback(workspace, "router", reason="test: replicas"),
                                           questions=[f"Capital of France? ({i})" for i in range(6)], clients=8,
                                           before_s=1.5, after_s=2.0, served=served, replica_header=REPLICA_HEADER)
                version = get_deployment(workspace).version
                health = {httpx.get(lb.url + "/healthz", timeout=5).headers[REPLICA_HEADER] for _ in range(4)}
        finally:
            codes = [r.stop() for r in replicas]
    assert set(codes) <= {0, -signal.SIGTERM}, codes  # uvicorn re-raises the signal once it has shut down cleanly
    assert result.failed == 0, [s for _, s, _ in result.requests if s != 200][:5]
    assert health == {"r1", "r2"}
    took = result.took_on_each("Answer from B.")
    assert set(took) == {"r1", "r2"} and max(took.values()) < 1.0, took  # each replica watched the store itself
    assert set(result.served_before()) == {"Answer from B."}
    assert set(result.served_after(1.0)) == {"Answer from A."}
    assert version > 0
    # Both replicas drained their traces into the one store on SIGTERM: every reply's trace, exactly once.
    assert len(trace_ids) == len(set(trace_ids)) == len(result.requests)
    for trace_id in trace_ids:
        assert get_trace(workspace, trace_id, tenant="acme")["id"] == trace_id
