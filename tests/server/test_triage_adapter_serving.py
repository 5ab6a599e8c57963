"""`adapter:triage` served per channel over one shared encoder, and detached by `rollback` under load with no failed request."""

from __future__ import annotations

import pytest
from live import openai_client
from tiny_adapter import train_tiny_adapter

from loopwright.registry.deployment import get_deployment
from loopwright.release import releases
from loopwright.release.switch import switch_under_load
from loopwright.samples.bank.questions import LOAD_QUESTIONS
from loopwright.server.process import ServeProcess

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MODEL = "larkspur-assistant"
GRACE = "the shop promised a refund by friday, what happens to my dispute meanwhile?"


def _ask(server, key: str) -> dict:
    with openai_client(server, key) as client:
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": GRACE}])
    return answer.model_extra["loopwright"]


def test_canary_callers_get_the_adapter_and_stable_callers_the_base_head(live, new_key):
    adapter = train_tiny_adapter(live.ws).artifact
    release, _ = releases.start(live.ws, "adapter:triage", adapter.ref, canary=0.5, skip_gate=True, reason="try the grace adapter")
    assert release.state == "canary"
    live.gateway.watcher.refresh()
    seen: dict[str, dict] = {}
    keys: dict[str, str] = {}
    for _ in range(24):  # callers split by a sticky hash of their key: find one on each channel
        key = new_key(live.ws, tenant="larkspur-retail", role="app")
        meta = _ask(live.server, key)
        seen.setdefault(meta["channel"], meta)
        keys.setdefault(meta["channel"], key)
        if len(seen) == 2:
            break
    assert set(seen) == {"canary", "stable"}
    assert seen["canary"]["triage_adapter"] == adapter.ref and seen["stable"]["triage_adapter"] is None
    trace = live.as_key(keys["canary"]).trace(seen["canary"]["trace_id"])
    assert trace["bundle"]["adapter:triage"]["digest"] == adapter.digest and trace["triage"]["adapter"] == adapter.ref
    # One base encoder for both: retrieval found the same evidence on either channel.
    assert seen["canary"]["retrieval"]["commit"] == seen["stable"]["retrieval"]["commit"]
    releases.rollback(live.ws, "adapter:triage", reason="test over")
    live.gateway.watcher.refresh()
    assert all(_ask(live.server, new_key(live.ws, tenant="larkspur-retail", role="app"))["triage_adapter"] is None for _ in range(4))


def test_rollback_detaches_the_adapter_within_a_second_with_no_failed_requests(triaged_bank, new_key):
    ws = triaged_bank
    adapter = train_tiny_adapter(ws).artifact
    releases.start(ws, "adapter:triage", adapter.ref, canary=1.0, skip_gate=True, reason="every caller on the adapter")
    before = {slot: s.stable.digest for slot, s in get_deployment(ws).slots.items() if s.stable is not None}
    key = new_key(ws)
    server = ServeProcess(ws.root).wait_ready(timeout=600)  # a busy shared machine starts torch slowly
    try:
        result = switch_under_load(server.url, key, MODEL, lambda: releases.rollback(ws, "adapter:triage", reason="detach under load"),
                                   questions=LOAD_QUESTIONS, served=lambda body: body["loopwright"]["triage_adapter"] or "base")
    finally:
        server.stop()
    assert result.requests and result.failed == 0, {status for _, status, _ in result.requests}
    assert adapter.ref in result.served_before()
    assert result.took(adapter.ref) < 1.0, f"the adapter still triaged {result.took(adapter.ref):.2f} s after the rollback"
    late = result.served_after(1.0)
    assert late and set(late) == {"base"}
    assert get_deployment(ws).slots.get("adapter:triage") is None  # a first canary ended: the slot serves nothing again
    after = {slot: s.stable.digest for slot, s in get_deployment(ws).slots.items() if s.stable is not None}
    assert after == before  # no other slot touched
