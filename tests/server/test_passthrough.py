"""Passthrough mode: forward by model name to an OpenAI-compatible upstream (a real HTTP server in a thread)."""

from __future__ import annotations

import json

import openai
import pytest
from live import Live, assert_openai_error, deploy_passthrough, http_client, lw, openai_client
from upstream import Upstream

ANSWER = "Paris is the capital of France."


@pytest.fixture
def upstream():
    with Upstream(answer=ANSWER) as up:
        yield up


@pytest.fixture
def proxied(workspace, upstream, serve, new_key) -> Live:
    """An empty workspace with a passthrough router and a policy deployed: no triage, corpus or prompt needed."""
    deploy_passthrough(workspace, upstream.url)
    server = serve(workspace)
    key = new_key(workspace, tenant="acme", role="app")
    live = Live(workspace, server, key, openai_client(server, key), http_client(server, key))
    yield live
    live.http.close()


def ask(live: Live, **kwargs):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    return live.client.chat.completions.create(model="upstream-model", messages=messages, **kwargs)


def test_passthrough_forwards_to_the_upstream_and_traces(proxied, upstream):
    response = ask(proxied, max_tokens=50, temperature=0.2)
    assert response.choices[0].message.content == ANSWER
    assert response.model == "upstream-model"
    sent = upstream.requests[-1]
    assert sent["model"] == "upstream-model" and sent["max_tokens"] == 50 and sent["temperature"] == 0.2
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    assert response.usage.prompt_tokens == len("Be brief. Capital of France?".split())  # the upstream's own count
    assert response.usage.completion_tokens == len(ANSWER.split())

    meta = lw(response)
    record = proxied.trace(meta["trace_id"])
    assert record["route"] == {"tier": "upstream-model", "escalated": False, "reason": "passthrough by model name"}
    assert record["outcome"] == "answered" and record["output"] == ANSWER and record["input"] == "Capital of France?"
    assert record["tokens"] == {"in": response.usage.prompt_tokens, "out": response.usage.completion_tokens}
    assert record["cost"] > 0 and record["principal"]["tenant"] == "acme"
    assert set(record["bundle"]) == {"router", "policy"} and "generate" in record["stages"]

    chunks = list(ask(proxied, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert lw(chunks[-1])["tier"] == "upstream-model"
    assert [m.id for m in proxied.client.models.list()] == ["upstream-model"]
    assert [t["tier"] for t in proxied.http.get("/v1/traces").json()["data"]] == ["upstream-model", "upstream-model"]

    with pytest.raises(openai.NotFoundError) as raised:
        proxied.client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["code"] == "model_not_found" and "upstream-model" in raised.value.body["message"]


def test_a_failing_upstream_is_retried_then_a_clear_502(proxied, upstream):
    upstream.fail_with = 503
    before = len(upstream.requests)
    response = proxied.http.post(
        "/v1/chat/completions", json={"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}]}
    )
    error = assert_openai_error(response, 502, type_="api_error", code="upstream_error")
    assert len(upstream.requests) - before == 3  # the first try and two retries
    assert upstream.url in error["message"] and "InternalServerError" in error["message"]
    traces = proxied.http.get("/v1/traces", params={"outcome": "error"}).json()["data"]
    assert len(traces) == 1 and traces[0]["tier"] == "upstream-model"
    assert proxied.trace(traces[0]["id"])["error"]["type"] == "BackendError"

    upstream.fail_with = 400  # a client error from upstream is not worth retrying
    before = len(upstream.requests)
    assert_openai_error(proxied.http.post("/v1/chat/completions", json=json.loads(response.request.content)), 502)
    assert len(upstream.requests) - before == 1

    upstream.fail_with = None
    assert ask(proxied).choices[0].message.content == ANSWER


def test_an_upstream_answer_without_choices_is_a_clear_502(proxied, upstream):
    for body in ({"object": "chat.completion", "choices": []}, {"choices": [{"text": "legacy"}]}, ["not", "an", "object"]):
        upstream.body = body
        response = proxied.http.post("/v1/chat/completions", json={"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}]})
        error = assert_openai_error(response, 502, type_="api_error", code="upstream_error")
        assert "choices[0].message" in error["message"]
    upstream.body = None
    assert ask(proxied).choices[0].message.content == ANSWER


def test_an_upstream_that_is_down_or_slow_is_a_502(workspace, serve, new_key):
    slow = Upstream(answer=ANSWER, delay_ms=2_000).start()
    down_url = slow.url  # keep its port for "down" below
    try:
        deploy_passthrough(workspace, slow.url, timeout_s=0.2, max_retries=1)
        server = serve(workspace)
        key = new_key(workspace, tenant="acme", role="app")
        client = openai_client(server, key)
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="upstream-model", messages=[{"role": "user", "content": "hi"}])
        assert raised.value.status_code == 502 and "Timeout" in raised.value.body["message"]
        assert len(slow.requests) == 2
    finally:
        slow.stop()

    with pytest.raises(openai.APIStatusError) as raised:  # nothing listens there any more
        client.chat.completions.create(model="upstream-model", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 502
    assert raised.value.body["type"] == "api_error" and down_url in raised.value.body["message"]
    assert "Connection" in raised.value.body["message"]
    assert http_client(server, key).get("/healthz").status_code == 200


def test_personal_data_is_masked_before_the_upstream_and_in_the_trace(proxied, upstream):
    card = "4111 1111 1111 1111"
    messages = [{"role": "user", "content": f"My card {card} was charged twice, email jo@example.com"}]
    response = proxied.client.chat.completions.create(model="upstream-model", messages=messages)
    sent = json.dumps(upstream.requests[-1])
    assert card not in sent and "jo@example.com" not in sent and "<CARD_1>" in sent  # the upstream saw masks only
    record = proxied.trace(lw(response)["trace_id"])
    assert card not in json.dumps(record) and record["pii"]["entities"]
    assert any(p["name"] == "pii.mask" for p in record["policies"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL's drain: test_replicas, test_workers
def test_sigterm_under_concurrent_load_leaves_a_trace_for_every_answered_call(workspace, upstream, new_key):
    import threading
    import time

    import httpx

    from loopwright.observe.traces import get_trace
    from loopwright.server.process import ServeProcess

    deploy_passthrough(workspace, upstream.url)
    key = new_key(workspace, tenant="acme", role="app")
    server = ServeProcess(workspace.root).wait_ready()
    answered: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def caller(i: int) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            n = 0
            while not stop.is_set():
                try:
                    r = http.post("/v1/chat/completions", json={"model": "upstream-model", "messages": [{"role": "user", "content": f"q {i} {n}"}]})
                except httpx.TransportError:
                    return  # the server went away: what it answered before is what counts
                if r.status_code == 200:
                    with lock:
                        answered.append(r.json()["loopwright"]["trace_id"])
                n += 1

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)  # within the writer's 20 ms gathering, some calls' traces are always still in memory
    server.stop()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(answered) > 20
    for trace_id in answered:  # the drain on SIGTERM wrote every one
        assert get_trace(workspace, trace_id, tenant="acme")["id"] == trace_id
