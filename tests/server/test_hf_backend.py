"""The `hf` backend behind the gateway: the sample LM on `model:small`, its LoRA on `adapter:small`'s canary."""

from __future__ import annotations

import threading

import httpx
import pytest
from live import Live, assert_openai_error, http_client, lw, openai_client

from loopwright.errors import InvalidInput
from loopwright.registry import artifacts
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.release.validation import deploy_checked
from loopwright.samples.bank import DATA_DIR

MODEL = "bank-lm"
GRACE = "The merchant promised a refund. Are we in chargeback grace?"


def deploy_hf(ws, register_sample, **options) -> tuple:
    """The sample LM on `model:small` and a passthrough router whose model `bank-lm` is the hf backend."""
    model, adapter = register_sample(ws)
    set_stable(ws, "model:small", model.ref, reason="the sample LM")
    opts = ", ".join(f"{k} = {v!r}".replace("'", '"') for k, v in {"max_new_tokens": 24, **options}.items())
    router = f'mode = "passthrough"\n\n[tiers.{MODEL}]\nbackend = "hf"\nprice = "small"\noptions = {{ {opts} }}\n'
    ref = artifacts.register(
        ws, "router", "hf", {"router.toml": router.encode(), "prices.json": (DATA_DIR / "prices.json").read_bytes()}
    ).ref
    set_stable(ws, "router", ref, reason="serve the local model")
    if get_deployment(ws).stable("policy") is None:
        policy = artifacts.register(ws, "policy", "bank", {"policy.toml": (DATA_DIR.parent / "config" / "policy.toml").read_bytes()})
        set_stable(ws, "policy", policy.ref)
    return model, adapter


@pytest.fixture
def hf_live(lite_workspace, register_sample, serve, new_key):
    model, adapter = deploy_hf(lite_workspace, register_sample)
    server = serve(lite_workspace)
    key = new_key(lite_workspace, tenant="larkspur-retail", role="app")
    live = Live(lite_workspace, server, key, openai_client(server, key), http_client(server, key))
    yield live, model, adapter
    live.http.close()


def chat(live: Live, question: str = GRACE, **kwargs):
    return live.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}], **kwargs)


def test_the_openai_client_streams_from_the_local_model(hf_live):
    live, model, _ = hf_live
    answer = chat(live)
    text = answer.choices[0].message.content
    assert answer.usage.completion_tokens > 0 and answer.choices[0].finish_reason in ("stop", "length")
    record = live.trace(lw(answer)["trace_id"])
    assert record["generation"]["model"] == model.digest and record["generation"]["adapter"] is None
    assert record["bundle"]["model:small"]["digest"] == model.digest
    # Greedy decoding: the stream carries the same answer.
    chunks = list(chat(live, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [m.id for m in live.client.models.list()] == [MODEL]


def test_canary_and_stable_get_different_adapters_from_one_base(hf_live, new_key):
    live, model, adapter = hf_live
    base_text = chat(live).choices[0].message.content
    release, _ = releases.start(live.ws, "adapter:small", adapter.ref, canary=0.5, skip_gate=True, reason="try the grace adapter")
    assert release.state == "canary"
    live.gateway.watcher.refresh()
    seen: dict[str, tuple[str, dict]] = {}
    for i in range(16):  # callers split by a sticky hash of their key: find one on each channel
        key = new_key(live.ws, tenant="larkspur-retail", role="app")
        with openai_client(live.server, key) as client:
            answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": GRACE}])
        meta = lw(answer)
        seen.setdefault(meta["channel"], (answer.choices[0].message.content, meta))
        if len(seen) == 2:
            break
    assert set(seen) == {"canary", "stable"}
    (canary_text, canary_meta), (stable_text, stable_meta) = seen["canary"], seen["stable"]
    assert canary_meta["generation"]["adapter"] == adapter.digest and stable_meta["generation"]["adapter"] is None
    assert canary_meta["generation"]["model"] == stable_meta["generation"]["model"] == model.digest
    assert stable_text == base_text and canary_text != stable_text
    # Rolled back: every caller is on the base model again.
    releases.abort(live.ws, "adapter:small", reason="test over")
    live.gateway.watcher.refresh()
    assert chat(live).choices[0].message.content == base_text


def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(hf_live):
    live, _, _ = hf_live
    too_long = live.http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "fee " * 3000}]})
    assert_openai_error(too_long, 400, code="context_length_exceeded")
    assert "context" in too_long.json()["error"]["message"]
    assert chat(live).usage.completion_tokens > 0


def test_a_full_queue_answers_429_not_unbounded_memory(lite_workspace, register_sample, serve, new_key):
    deploy_hf(lite_workspace, register_sample, max_batch=1, max_queue=1, max_new_tokens=64, window_ms=0)
    server = serve(lite_workspace)
    key = new_key(lite_workspace, tenant="larkspur-retail", role="app")
    statuses: list[int] = []
    lock = threading.Lock()

    def call():
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            r = client.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": GRACE}]})
        with lock:
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["error"]["type"] == "rate_limit_error" and r.headers["retry-after"]

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) == {200, 429}, statuses


def test_an_adapter_beyond_the_policy_caps_is_refused_at_deploy(hf_live):
    live, _, adapter = hf_live
    policy_toml = (DATA_DIR.parent / "config" / "policy.toml").read_text() + "\n"
    strict = artifacts.register(live.ws, "policy", "strict", {"policy.toml": _with_max_rank(policy_toml, 4).encode()})
    set_stable(live.ws, "policy", strict.ref, reason="rank 4 at most")
    with pytest.raises(InvalidInput, match="rank"):
        deploy_checked(live.ws, "adapter:small", adapter.ref, reason="over the cap")
    assert get_deployment(live.ws).stable("adapter:small") is None


def _with_max_rank(policy_toml: str, rank: int) -> str:
    lines = policy_toml.splitlines()
    start = lines.index("[adapters]")
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("max_rank"):
            lines[i] = f"max_rank = {rank}"
            return "\n".join(lines) + "\n"
    raise AssertionError("the sample policy has no adapters.max_rank")
