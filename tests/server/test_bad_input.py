"""Bad input against a real server: every refusal is a 4xx (or 429) in OpenAI's error shape, and it keeps serving."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest
from live import MODEL, assert_openai_error, deploy_passthrough, http_client, wait_for_version

from loopwright.observe.traces import list_traces
from loopwright.registry.deployment import get_deployment, set_stable

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

GOOD = {"model": MODEL, "messages": [{"role": "user", "content": "What is the APY on the Larkspur Saver?"}]}


def _chat(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def assert_still_serving(live) -> None:
    response = live.http.post("/v1/chat/completions", json=GOOD)
    assert response.status_code == 200, response.text
    assert "3.80%" in response.json()["choices"][0]["message"]["content"]


# (name, method, path, body bytes or None, headers, status, code, param)
JSON = {"Content-Type": "application/json"}
CASES = [
    ("malformed JSON", "POST", "/v1/chat/completions", b'{"model": "larkspur-assistant", "messages": [', JSON, 400, "invalid_request", None),
    ("not an object", "POST", "/v1/chat/completions", b"[1, 2, 3]", JSON, 400, "invalid_request", None),
    ("empty body", "POST", "/v1/chat/completions", b"", JSON, 400, "invalid_request", None),
    ("invalid UTF-8", "POST", "/v1/chat/completions", b'{"model": "larkspur-assistant", "messages": [{"role": "user", "content": "\xff\xfe caf\xe9"}]}', JSON, 400, None, None),
    ("text/plain body", "POST", "/v1/chat/completions", _chat(), {"Content-Type": "text/plain"}, 400, "invalid_request", None),
    ("messages is a string", "POST", "/v1/chat/completions", _chat(messages="hello"), JSON, 400, "invalid_request", "messages"),
    ("model is a number", "POST", "/v1/chat/completions", _chat(model=42), JSON, 400, "invalid_request", "model"),
    ("model missing", "POST", "/v1/chat/completions", json.dumps({"messages": GOOD["messages"]}).encode(), JSON, 400, "invalid_request", "model"),
    ("temperature is text", "POST", "/v1/chat/completions", _chat(temperature="hot"), JSON, 400, "invalid_request", "temperature"),
    ("temperature out of range", "POST", "/v1/chat/completions", _chat(temperature=7), JSON, 400, "invalid_request", "temperature"),
    ("max_tokens negative", "POST", "/v1/chat/completions", _chat(max_tokens=-1), JSON, 400, "invalid_request", "max_tokens"),
    ("n > 1", "POST", "/v1/chat/completions", _chat(n=3), JSON, 400, "invalid_request", "n"),
    ("stream is an object", "POST", "/v1/chat/completions", _chat(stream={"on": True}), JSON, 400, "invalid_request", "stream"),
    ("content is a number", "POST", "/v1/chat/completions", _chat(messages=[{"role": "user", "content": 5}]), JSON, 400, "invalid_request", None),
    ("unknown role", "POST", "/v1/chat/completions", _chat(messages=[{"role": "wizard", "content": "hi"}]), JSON, 400, "invalid_request", None),
    ("empty messages", "POST", "/v1/chat/completions", _chat(messages=[]), JSON, 400, "invalid_request", "messages"),
    ("no user message", "POST", "/v1/chat/completions", _chat(messages=[{"role": "system", "content": "be nice"}]), JSON, 400, "invalid_request", "messages"),
    ("blank user message", "POST", "/v1/chat/completions", _chat(messages=[{"role": "user", "content": "   "}]), JSON, 400, "invalid_request", "messages"),
    ("message over 32,000 characters", "POST", "/v1/chat/completions", _chat(messages=[{"role": "user", "content": "a " * 20_000}]), JSON, 400, "invalid_request", None),
    ("unknown model", "POST", "/v1/chat/completions", _chat(model="gpt-9"), JSON, 404, "model_not_found", None),
    ("body over the limit", "POST", "/v1/chat/completions", _chat(messages=[{"role": "user", "content": "x" * 1_100_000}]), JSON, 413, None, None),
    ("wrong method", "DELETE", "/v1/chat/completions", None, {}, 405, None, None),
    ("unknown /v1 route", "GET", "/v1/embeddings", None, {}, 404, None, None),
    ("unknown route", "GET", "/nowhere", None, {}, 404, None, None),
    ("unknown trace", "GET", "/v1/traces/tr_000000000000000000000000", None, {}, 404, "not_found", None),
    ("bad outcome filter", "GET", "/v1/traces?outcome=splendid", None, {}, 400, "invalid_request", None),
    ("limit out of range", "GET", "/v1/traces?limit=100000", None, {}, 400, "invalid_request", "query.limit"),
    ("offset is text", "GET", "/v1/traces?offset=first", None, {}, 400, "invalid_request", "query.offset"),
    ("feedback: malformed JSON", "POST", "/v1/feedback", b"{thumbs: up}", JSON, 400, "invalid_request", None),
    ("feedback: unknown field", "POST", "/v1/feedback", b'{"trace_id": "tr_1", "thumbs": 1, "stars": 5}', JSON, 400, "invalid_request", "stars"),
    ("feedback: no trace id", "POST", "/v1/feedback", b'{"thumbs": 1}', JSON, 400, "invalid_request", "trace_id"),
    ("feedback: nothing said", "POST", "/v1/feedback", b'{"trace_id": "tr_1"}', JSON, 400, "invalid_request", None),
    ("feedback: unknown trace", "POST", "/v1/feedback", b'{"trace_id": "tr_1", "thumbs": 1}', JSON, 404, "not_found", None),
]
KEYLESS = [
    ("no key: chat", "POST", "/v1/chat/completions", _chat(), JSON),
    ("no key: models", "GET", "/v1/models", None, {}),
    ("no key: traces", "GET", "/v1/traces", None, {}),
    ("no key: one trace", "GET", "/v1/traces/tr_x", None, {}),
    ("no key: feedback", "POST", "/v1/feedback", b'{"trace_id": "tr_1", "thumbs": 1}', JSON),
    ("no key: metrics", "GET", "/metrics", None, {}),
]


def test_every_error_path_of_the_http_surface_answers_in_openai_shape(live):
    with httpx.Client(base_url=live.server.url, timeout=60) as anonymous, http_client(live.server, "lw-wrong") as wrong:
        for name, method, path, body, headers in KEYLESS:
            for client, who in ((anonymous, "missing key"), (wrong, "wrong key")):
                response = client.request(method, path, content=body, headers=headers)
                assert_openai_error(response, 401, type_="authentication_error", code="invalid_api_key"), (name, who)
        for name, method, path, body, headers, status, code, param in CASES:
            response = live.http.request(method, path, content=body, headers=headers)
            error = assert_openai_error(response, status, code=code)
            assert error["type"] == "invalid_request_error", (name, error)
            if param is not None:
                assert error["param"] == param, (name, error)

    # an unexpected failure is a 500 in the same shape, with no internals in it
    def explode():
        raise RuntimeError("secret internals /etc/passwd")

    live.server.app.add_api_route("/v1/explode", explode)
    with http_client(live.server, live.key) as own:  # uvicorn closes a connection after an unhandled error
        error = assert_openai_error(own.get("/v1/explode"), 500, type_="api_error", code="internal_error")
    assert "secret" not in error["message"]

    # overloaded: 429 (retryable)
    guard = _guard(live)
    guard.in_flight = guard.max_in_flight
    assert_openai_error(live.http.post("/v1/chat/completions", json=GOOD), 429, type_="rate_limit_error")
    guard.in_flight = 0

    # an upstream that does not answer: 502, after which the old router serves again
    served = get_deployment(live.ws).stable("router").ref
    deploy_passthrough(live.ws, "http://127.0.0.1:9/v1", timeout_s=1, max_retries=0)
    wait_for_version(live, get_deployment(live.ws).version)
    response = live.http.post("/v1/chat/completions", json={**GOOD, "model": "upstream-model"})
    assert_openai_error(response, 502, type_="api_error", code="upstream_error")
    set_stable(live.ws, "router", served)
    wait_for_version(live, get_deployment(live.ws).version)
    assert_still_serving(live)


def _guard(live):
    """The app's in-flight and body-size guard (middleware), to fill its in-flight count by hand."""
    guard = live.server.app.middleware_stack
    while guard is not None and type(guard).__name__ != "_Guard":
        guard = getattr(guard, "app", None)
    assert guard is not None, "the in-flight guard is installed"
    return guard


def test_too_many_requests_in_flight_is_429_with_retry_after(live):
    """A full in-flight cap answers 429 (retryable, with Retry-After), in OpenAI's shape."""
    guard = _guard(live)
    guard.in_flight = guard.max_in_flight  # as if that many chat calls were running
    response = live.http.post("/v1/chat/completions", json=GOOD)
    error = assert_openai_error(response, 429, type_="rate_limit_error")
    assert response.headers["retry-after"] == "1" and "retry" in error["message"]
    assert live.http.get("/healthz").status_code == 200  # ops routes are not behind the cap
    guard.in_flight = 0
    assert_still_serving(live)


def test_a_ten_megabyte_message_is_refused_before_it_is_read(live):
    huge = "All work and no play makes Jack a dull boy. " * 240_000  # ~10.6 MB
    with pytest.raises(openai.APIStatusError) as raised:
        live.ask(huge)
    assert raised.value.status_code == 413
    assert set(raised.value.body) == {"message", "type", "param", "code"}
    assert raised.value.body["type"] == "invalid_request_error" and "bytes" in raised.value.body["message"]

    def chunked():  # no Content-Length: the guard counts bytes as they arrive
        yield b'{"model": "larkspur-assistant", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 100_000
        yield b'"}]}'

    response = live.http.post("/v1/chat/completions", content=chunked(), headers={"Content-Type": "application/json"})
    assert_openai_error(response, 413, type_="invalid_request_error")
    assert_still_serving(live)


def test_a_thousand_parallel_requests_get_200_or_429_never_5xx(triaged_bank, serve, new_key):
    server = serve(triaged_bank, max_in_flight=4)
    key = new_key(triaged_bank)

    async def flood() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120, headers={"Authorization": f"Bearer {key}"}) as client:
            return await asyncio.gather(*(client.post("/v1/chat/completions", json=GOOD) for _ in range(1000)))

    responses = asyncio.run(flood())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert ok and refused, (len(ok), len(refused))
    for response in refused[:50]:
        assert_openai_error(response, 429, type_="rate_limit_error")
    assert {"3.80%" in r.json()["choices"][0]["message"]["content"] for r in ok} == {True}

    gateway = server.app.state.gateway
    gateway.writer.flush()
    traced = list_traces(triaged_bank, tenant="larkspur-retail", limit=1000)
    assert {t["id"] for t in traced} == {lw_id(r) for r in ok}  # every answer traced; refusals never reached the path
    with http_client(server, key) as client:
        response = client.post("/v1/chat/completions", json=GOOD)
        assert response.status_code == 200


def lw_id(response: httpx.Response) -> str:
    return response.json()["loopwright"]["trace_id"]
