"""The official `openai` client against a real gateway server: answers, streaming, traces, feedback, ops routes."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from live import MODEL, assert_openai_error, http_client, lw

from loopwright.registry.deployment import get_deployment
from loopwright.serving.auth import create_key

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SAVINGS = "What is the APY on the Larkspur Saver?"
LATE_FEE = "What is the late fee for FlexPay 2.0?"  # declines on the sample's first corpus commit


def test_openai_client_gets_cited_answers_plain_and_streamed(live):
    response = live.ask(SAVINGS)
    answer = response.choices[0].message.content
    meta = lw(response)
    assert response.model == MODEL and response.object == "chat.completion"
    assert response.choices[0].finish_reason == "stop"
    assert "3.80%" in answer
    assert "savings-rates-2026-10" in [c["doc_id"] for c in meta["citations"]]
    for c in meta["citations"]:
        assert f"[{c['n']}]" in answer and c["text"] and c["commit"] == meta["retrieval"]["commit"]
    assert meta["trace_id"].startswith("tr_") and meta["intent"] == "savings_rates" and meta["confidence"] > 0.5
    assert meta["cache_hit"] is False and meta["declined"] is False and meta["tier"] in ("small", "large")
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens

    chunks = list(live.ask(SAVINGS, stream=True, stream_options={"include_usage": True}))
    deltas = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert deltas == answer
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0] is [c for c in chunks if c.choices][-1]
    streamed = lw(finals[0])
    assert streamed["citations"] == meta["citations"]
    assert streamed["trace_id"] != meta["trace_id"]  # its own call, its own trace
    assert all("loopwright" not in (c.model_extra or {}) for c in chunks if c is not finals[0])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == response.usage.completion_tokens
    assert {c.id for c in chunks} == {"chatcmpl-" + streamed["trace_id"].removeprefix("tr_")}

    for trace_id in (meta["trace_id"], streamed["trace_id"]):
        record = live.trace(trace_id)
        assert record["output"] == answer and record["outcome"] == "answered"


@SQLITE
def test_trace_shows_every_field_the_issue_lists(live):
    response = live.ask(SAVINGS)
    meta = lw(response)
    record = live.trace(meta["trace_id"])

    assert record["id"] == meta["trace_id"]
    assert record["principal"]["tenant"] == "larkspur-retail" and record["principal"]["role"] == "customer"
    assert record["principal"]["key_id"].startswith("key_")
    assert record["channel"] == "stable"
    deployment = get_deployment(live.ws)
    assert record["deployment_version"] == deployment.version
    live_slots = {slot: {"ref": s.stable.ref, "digest": s.stable.digest} for slot, s in deployment.slots.items()}
    assert record["bundle"] == live_slots
    assert {"corpus", "model:triage", "policy", "prompt", "router"} <= set(record["bundle"])
    assert record["prompt_bundle"] == live_slots["prompt"]["ref"]
    retrieval = record["retrieval"]
    assert len(retrieval["fingerprint"]) == 64 and retrieval["commit"] == live_slots["corpus"]["digest"]
    assert retrieval["status"] == "ok" and retrieval["reason"] and retrieval["decline"] is False
    assert record["triage"]["intent"] == "savings_rates" and 0.5 < record["triage"]["confidence"] <= 1
    assert record["triage"]["model"] == live_slots["model:triage"]["ref"]
    assert record["route"]["tier"] == record["tier"] and record["route"]["reason"]
    assert isinstance(record["route"]["escalated"], bool)
    assert record["cache"] == {"hit": False}
    assert isinstance(record["tools"], list) and isinstance(record["validators"], list)
    assert isinstance(record["policies"], list)
    for stage in ("auth", "triage", "retrieval", "route", "generate"):
        assert record["stages"][stage] >= 0, stage
    assert record["stages"]["auth"] > 0  # authentication is timed onto the trace
    assert record["latency_ms"] >= sum(v for k, v in record["stages"].items() if k != "auth")
    assert record["tokens"] == {"in": response.usage.prompt_tokens, "out": response.usage.completion_tokens}
    assert record["cost"] > 0
    assert record["outcome"] == "answered" and record["feedback"] == []
    assert record["input"] == SAVINGS and record["output"] == response.choices[0].message.content
    assert [c["doc_id"] for c in record["citations"]] == [c["doc_id"] for c in meta["citations"]]

    declined = lw(live.ask(LATE_FEE))
    record = live.trace(declined["trace_id"])
    assert record["outcome"] == "declined" and declined["declined"] is True
    assert record["policies"] == [
        {"name": "retrieval.decline", "rule": "decline_if_stale", "reason": record["retrieval"]["reason"]}
    ]
    assert "flexpay-1-0" in record["retrieval"]["reason"] and "stale" in record["retrieval"]["reason"]
    assert record["cost"] == 0 and record["citations"] == []


@SQLITE
def test_trace_list_filters_by_intent_outcome_and_since_and_pages(live):
    before = live.ask(SAVINGS)
    time.sleep(0.01)
    mark = live.trace(lw(before)["trace_id"])["ts"]
    time.sleep(0.01)
    ids = [lw(live.ask(q))["trace_id"] for q in (SAVINGS, LATE_FEE, SAVINGS, "What are the branch hours on Saturday?")]

    def listed(**params) -> dict:
        response = live.http.get("/v1/traces", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    everything = listed()
    assert [t["id"] for t in everything["data"]][:4] == ids[::-1]  # newest first
    assert everything["object"] == "list" and everything["has_more"] is False
    assert {t["intent"] for t in listed(intent="savings_rates")["data"]} == {"savings_rates"}
    assert len(listed(intent="savings_rates")["data"]) == 3
    declined = listed(outcome="declined")["data"]
    assert [t["id"] for t in declined] == [ids[1]] and declined[0]["intent"] == "flexpay"
    since = listed(since=mark)["data"]
    assert lw(before)["trace_id"] in [t["id"] for t in since] and len(since) == 5
    assert listed(since="2999-01-01T00:00:00Z")["data"] == []
    assert {t["id"] for t in listed(since=mark, intent="savings_rates", outcome="answered")["data"]} == {
        lw(before)["trace_id"], ids[0], ids[2]
    }

    page1, page2, page3 = (listed(limit=2, offset=o) for o in (0, 2, 4))
    assert page1["has_more"] and page2["has_more"] and not page3["has_more"]
    paged = [t["id"] for p in (page1, page2, page3) for t in p["data"]]
    assert paged == [t["id"] for t in everything["data"]] and len(set(paged)) == 5
    assert_openai_error(live.http.get("/v1/traces", params={"outcome": "great"}), 400)
    assert_openai_error(live.http.get("/v1/traces", params={"limit": 0}), 400)


@SQLITE
def test_feedback_changes_the_outcome(live):
    good, bad, declined = (lw(live.ask(q))["trace_id"] for q in (SAVINGS, SAVINGS, LATE_FEE))

    def feedback(**body) -> httpx.Response:
        return live.http.post("/v1/feedback", json=body)

    assert feedback(trace_id=good, thumbs=1).json() == {"trace_id": good, "outcome": "accepted"}
    assert feedback(trace_id=bad, score=1.5, text="wrong account", consent=False).json()["outcome"] == "defect"
    assert feedback(trace_id=declined, thumbs=-1).json()["outcome"] == "declined"  # a decline stays a decline
    assert live.trace(good)["outcome"] == "accepted"
    record = live.trace(bad)
    assert record["outcome"] == "defect"
    assert record["feedback"][0]["score"] == 1.5 and record["feedback"][0]["text"] is None  # no consent, no text
    assert feedback(trace_id=bad, thumbs=1, text="fixed now", consent=True).json()["outcome"] == "accepted"
    assert live.trace(bad)["feedback"][-1]["text"] == "fixed now"
    assert [t["id"] for t in live.http.get("/v1/traces", params={"outcome": "accepted"}).json()["data"]] == [bad, good]

    assert_openai_error(feedback(trace_id=good), 400)  # nothing to say
    assert_openai_error(feedback(trace_id=good, thumbs=2), 400, code="invalid_request").get("param") == "thumbs"
    assert_openai_error(feedback(trace_id=good, score=9), 400)
    assert_openai_error(feedback(trace_id="tr_nope", thumbs=1), 404)


@SQLITE
def test_health_metrics_models_and_openapi(live, new_key):
    anonymous = http_client(live.server, None)
    health = anonymous.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert isinstance(body.pop("worker"), int)  # the answering process (`serve --workers N`)
    assert body == {"status": "ok", "deployment_version": get_deployment(live.ws).version}

    assert_openai_error(anonymous.get("/metrics"), 401, type_="authentication_error")
    assert_openai_error(live.http.get("/metrics"), 403, type_="permission_error")  # a customer key: operators only
    live.ask(SAVINGS)
    live.ask(LATE_FEE)
    operator = live.as_key(new_key(live.ws, tenant="larkspur-retail", role="admin"))
    metrics = operator.http.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert "# TYPE loopwright_requests_total counter" in text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}
    served = {k: v for k, v in samples.items() if k.startswith("loopwright_requests_total{")}
    assert sum(served.values()) == 2
    assert any('outcome="declined"' in k and 'tenant="larkspur-retail"' in k for k in served)
    assert samples['loopwright_request_seconds_count{tier="large"}'] >= 1
    assert any(k.startswith('loopwright_stage_seconds_count{stage="retrieval"}') for k in samples)
    assert sum(v for k, v in samples.items() if k.startswith("loopwright_cost_usd_total")) > 0
    assert sum(v for k, v in samples.items() if k.startswith("loopwright_tokens_total")) > 0

    assert [m.id for m in live.client.models.list()] == [MODEL]

    schema = anonymous.get("/openapi.json").json()
    routes = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert {
        ("/v1/chat/completions", "post"),
        ("/v1/models", "get"),
        ("/v1/traces", "get"),
        ("/v1/traces/{trace_id}", "get"),
        ("/v1/feedback", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    } <= routes
    # the schema is accurate: every operation it lists exists on the server, and the chat body is described
    for path, method in routes:
        response = anonymous.request(method.upper(), path.replace("{trace_id}", "tr_x"), json={})
        assert response.status_code not in (404, 405), (path, method, response.status_code)
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"model", "messages", "stream"} <= set(schema["components"]["schemas"][body]["properties"])
    anonymous.close()


@SQLITE
def test_missing_wrong_malformed_and_revoked_keys_get_401(live):
    from loopwright.serving import auth

    body = {"model": MODEL, "messages": [{"role": "user", "content": SAVINGS}]}
    cases = {
        "missing": {},
        "wrong": {"Authorization": "Bearer lw-not-a-real-key"},
        "not bearer": {"Authorization": f"Basic {live.key}"},
        "empty bearer": {"Authorization": "Bearer"},
    }
    with httpx.Client(base_url=live.server.url, timeout=30) as anonymous:
        for name, headers in cases.items():
            for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/v1/traces")):
                response = anonymous.request(method, path, headers=headers, json=body if method == "POST" else None)
                error = assert_openai_error(response, 401, type_="authentication_error", code="invalid_api_key")
                assert "key" in error["message"].lower(), (name, error)

    with pytest.raises(openai.AuthenticationError) as raised:
        live.as_key("lw-wrong").ask(SAVINGS)
    assert raised.value.status_code == 401 and raised.value.body["type"] == "authentication_error"

    key, principal = create_key(live.ws, tenant="larkspur-retail", role="customer")
    caller = live.as_key(key)
    assert caller.ask(SAVINGS).choices[0].message.content
    auth.revoke_key(live.ws, principal.key_id)
    revoked = time.monotonic()
    while True:  # refused within the deployment watcher's next polls, long before the key cache's TTL
        try:
            caller.ask(SAVINGS)
        except openai.AuthenticationError:
            break
        assert time.monotonic() - revoked < auth._CACHE_TTL_S / 2, "a revoked key was still served"
        time.sleep(0.02)
    assert_openai_error(caller.http.get("/v1/traces"), 401, code="invalid_api_key")
    assert live.ask(SAVINGS).choices[0].message.content  # other keys are unaffected


@SQLITE
def test_another_tenants_traces_are_not_found(live, new_key):
    retail_trace = lw(live.ask(SAVINGS))["trace_id"]
    staff = live.as_key(new_key(live.ws, tenant="larkspur-staff", role="agent"))
    staff_trace = lw(staff.ask(SAVINGS))["trace_id"]

    missing = assert_openai_error(staff.http.get(f"/v1/traces/{retail_trace}"), 404, code="not_found")
    unknown = assert_openai_error(staff.http.get("/v1/traces/tr_000000000000000000000000"), 404)
    assert missing["message"].replace(retail_trace, "ID") == unknown["message"].replace("tr_000000000000000000000000", "ID")
    assert_openai_error(staff.http.post("/v1/feedback", json={"trace_id": retail_trace, "thumbs": -1}), 404)
    assert live.trace(retail_trace)["outcome"] == "answered"  # the failed feedback changed nothing
    assert [t["id"] for t in staff.http.get("/v1/traces").json()["data"]] == [staff_trace]
    assert retail_trace in [t["id"] for t in live.http.get("/v1/traces").json()["data"]]
    assert staff_trace not in [t["id"] for t in live.http.get("/v1/traces").json()["data"]]
    assert staff.trace(staff_trace)["principal"]["tenant"] == "larkspur-staff"
    staff.http.close()
