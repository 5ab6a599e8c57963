"""Regression tests for the holes issue 14 found at the HTTP edge, each against a real uvicorn server.

Lone surrogates and loose types are 400s that name the field; a stopped trace writer makes the
server not ready; traces are visible and gradable only to their own caller (customer, key),
an agent by scope and an operator within its tenant; stored free text is masked; errors never
close a keep-alive connection; the OpenAPI schema declares what the server really answers.
"""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa
from live import MODEL, assert_openai_error, http_client, lw

from loopwright.store.schema import FeedbackRow, TraceRow

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

QUESTION = "What is the APY on the Larkspur Saver?"
CARD, SSN = "4000 0021 6244 9662", "521-44-7812"
JSON = {"Content-Type": "application/json"}


def chat(**changes) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], **changes}


def raw(body: str) -> bytes:
    """`body` as bytes without Python's JSON encoder (which would not write a lone surrogate escape as is)."""
    return body.encode("ascii")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ('{"model": "larkspur-assistant", "messages": [{"role": "user", "content": "\\ud800 fee"}]}', "messages.0.content"),
        ('{"model": "larkspur-assistant", "messages": [{"role": "user", "content": [{"type": "text", "text": "fee \\udfff"}]}]}', "messages.0.content.0.text"),
        ('{"model": "larkspur-\\ud800", "messages": [{"role": "user", "content": "fee"}]}', "model"),
        ('{"model": "larkspur-assistant", "user": "\\udc00", "messages": [{"role": "user", "content": "fee"}]}', "user"),
        ('{"model": "larkspur-assistant", "messages": [{"role": "user", "content": "fee\\u0000"}]}', "messages.0.content"),
    ],
)
def test_text_that_is_not_valid_unicode_is_a_400_and_tracing_goes_on(live, body, param):
    error = assert_openai_error(live.http.post("/v1/chat/completions", content=raw(body), headers=JSON), 400, code="invalid_request")
    assert error["param"] == param and error["message"].startswith(f"{param}: ") and "\n" not in error["message"], error
    answer = live.http.post("/v1/chat/completions", json=chat())
    assert answer.status_code == 200, answer.text
    assert live.trace(answer.json()["loopwright"]["trace_id"])["outcome"] == "answered"  # the next call is traced
    assert live.http.get("/healthz").status_code == 200


def test_feedback_text_with_a_lone_surrogate_is_a_400(live):
    trace_id = lw(live.ask(QUESTION))["trace_id"]
    body = raw('{"trace_id": "%s", "thumbs": 1, "text": "ok \\ud83d", "consent": true}' % trace_id)
    error = assert_openai_error(live.http.post("/v1/feedback", content=body, headers=JSON), 400)
    assert error["param"] == "text"


@pytest.mark.parametrize(
    ("changes", "param"),
    [({"stream": "yes"}, "stream"), ({"stream": 1}, "stream"), ({"n": "1"}, "n"), ({"max_tokens": "5"}, "max_tokens"),
     ({"temperature": "0.5"}, "temperature"), ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage")],
)
def test_loose_types_are_400s_not_guesses(live, changes, param):
    error = assert_openai_error(live.http.post("/v1/chat/completions", json=chat(**changes)), 400, code="invalid_request")
    assert error["param"] == param, error


def test_feedback_types_are_strict(live):
    trace_id = lw(live.ask(QUESTION))["trace_id"]
    for body, param in (({"thumbs": True}, "thumbs"), ({"thumbs": "1"}, "thumbs"), ({"score": "4"}, "score"), ({"thumbs": 1, "consent": "yes"}, "consent")):
        error = assert_openai_error(live.http.post("/v1/feedback", json={"trace_id": trace_id, **body}), 400)
        assert error["param"] == param, error
    assert live.trace(trace_id)["feedback"] == []


def test_a_stopped_trace_writer_makes_the_server_not_ready(live):
    assert live.http.get("/healthz").status_code == 200
    live.gateway.writer.close()  # as if its thread had died
    assert_openai_error(live.http.get("/healthz"), 503, type_="api_error", code="not_ready")


def test_out_of_range_integers_are_400_and_errors_keep_the_connection(live):
    """One keep-alive client: a 400, a 404, a 401 and a 500 in a row all leave the same connection open."""

    def explode():
        raise RuntimeError("boom")

    live.server.app.add_api_route("/v1/explode", explode)
    ports = []

    def port(response: httpx.Response) -> int:
        return response.extensions["network_stream"].get_extra_info("client_addr")[1]

    with http_client(live.server, live.key) as client:
        ports.append(port(client.get("/v1/traces")))
        for path, status in [("/v1/traces?offset=99999999999999999999", 400), ("/v1/traces?limit=99999999999999999999", 400),
                             ("/v1/traces/tr_nope", 404), ("/v1/explode", 500), ("/v1/traces?offset=-1", 400)]:
            response = client.get(path)
            error = assert_openai_error(response, status)
            assert response.headers.get("connection") != "close", (path, response.headers)
            if status == 400:
                assert error["param"] in ("query.offset", "query.limit"), error
            ports.append(port(response))
        ports.append(port(client.post("/v1/chat/completions", json=chat())))
    assert len(set(ports)) == 1, ports


def test_customers_read_and_grade_only_their_own_traces(live, new_key):
    ws = live.ws
    cus1 = live.as_key(new_key(ws, subject="cus_001"))
    cus2 = live.as_key(new_key(ws, subject="cus_002"))
    other_app = live.as_key(new_key(ws))  # a customer key acting for no one: its own calls only
    mine = lw(cus1.ask(QUESTION))["trace_id"]
    theirs = lw(cus2.ask(QUESTION))["trace_id"]
    keyless = lw(live.ask(QUESTION))["trace_id"]

    unknown = assert_openai_error(cus2.http.get("/v1/traces/tr_000000000000000000000000"), 404)
    hidden = assert_openai_error(cus2.http.get(f"/v1/traces/{mine}"), 404, code="not_found")
    assert hidden["message"].replace(mine, "ID") == unknown["message"].replace("tr_000000000000000000000000", "ID")
    assert_openai_error(cus2.http.post("/v1/feedback", json={"trace_id": mine, "thumbs": -1}), 404)
    assert cus1.trace(mine)["outcome"] == "answered"  # the refused grade changed nothing
    assert [t["id"] for t in cus2.http.get("/v1/traces").json()["data"]] == [theirs]
    assert [t["id"] for t in cus1.http.get("/v1/traces").json()["data"]] == [mine]
    assert [t["id"] for t in live.http.get("/v1/traces").json()["data"]] == [keyless]
    assert other_app.http.get("/v1/traces").json()["data"] == []
    assert_openai_error(other_app.http.get(f"/v1/traces/{keyless}"), 404)
    assert cus1.http.post("/v1/feedback", json={"trace_id": mine, "thumbs": -1}).json()["outcome"] == "defect"

    # an operator of the tenant sees all of it; an agent by its scopes; neither crosses into what it does not serve
    operator = live.as_key(new_key(ws, role="admin"))
    assert {mine, theirs, keyless} <= {t["id"] for t in operator.http.get("/v1/traces").json()["data"]}
    assert operator.trace(theirs)["principal"]["subject"] == "cus_002"
    agent = live.as_key(new_key(ws, tenant="larkspur-staff", role="agent", scopes=("retail", "staff")))
    staff_trace = lw(agent.ask(QUESTION))["trace_id"]
    assert {mine, theirs, keyless, staff_trace} <= {t["id"] for t in agent.http.get("/v1/traces").json()["data"]}
    assert agent.http.post("/v1/feedback", json={"trace_id": theirs, "thumbs": 1}).json()["outcome"] == "accepted"
    staff_only_agent = live.as_key(new_key(ws, tenant="larkspur-staff", role="agent", scopes=("staff",)))
    assert_openai_error(staff_only_agent.http.get(f"/v1/traces/{mine}"), 404)
    assert_openai_error(operator.http.get(f"/v1/traces/{staff_trace}"), 404)
    assert staff_trace not in {t["id"] for t in operator.http.get("/v1/traces").json()["data"]}


def test_metrics_are_for_operators_and_show_only_their_tenant(live, new_key):
    live.ask(QUESTION)
    staff = live.as_key(new_key(live.ws, tenant="larkspur-staff", role="agent"))
    staff.ask(QUESTION)
    assert_openai_error(live.http.get("/metrics"), 403, type_="permission_error", code="permission_denied")
    assert_openai_error(staff.http.get("/metrics"), 403)
    text = live.as_key(new_key(live.ws, role="admin")).http.get("/metrics").text
    assert 'tenant="larkspur-retail"' in text and "larkspur-staff" not in text
    staff_text = live.as_key(new_key(live.ws, tenant="larkspur-staff", role="admin")).http.get("/metrics").text
    assert 'tenant="larkspur-staff"' in staff_text and "larkspur-retail" not in staff_text


def _stored_text(ws) -> str:
    """Everything the traces and feedback tables hold, as one string (to look for raw values in)."""
    with ws.engine.connect() as conn:
        rows = [*conn.execute(sa.select(TraceRow)), *conn.execute(sa.select(FeedbackRow))]
    return json.dumps([[str(v) for v in row] for row in rows])


def test_stored_free_text_is_masked(live):
    trace_id = lw(live.ask(QUESTION))["trace_id"]
    text = f"Wrong answer. My SSN is {SSN} and my card {CARD}, call me."
    assert live.http.post("/v1/feedback", json={"trace_id": trace_id, "thumbs": -1, "text": text, "consent": True}).status_code == 200
    stored = live.trace(trace_id)["feedback"][-1]["text"]
    assert SSN not in stored and CARD not in stored and "<SSN_1>" in stored and "<CARD_1>" in stored, stored

    # a card number in the `model` field: refused (404), and its error trace holds only the mask
    assert_openai_error(live.http.post("/v1/chat/completions", json=chat(model=f"card {CARD}")), 404, code="model_not_found")
    errors = live.http.get("/v1/traces", params={"outcome": "error"}).json()["data"]
    record = live.trace(errors[0]["id"])
    assert record["model"] == "card <CARD_1>" and CARD not in record["error"]["message"], record
    live.gateway.writer.flush()
    dump = _stored_text(live.ws)
    for value in (SSN, CARD, CARD.replace(" ", "")):
        assert value not in dump


def test_the_openapi_schema_declares_what_the_server_answers(live):
    schema = httpx.get(live.server.url + "/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error_ref = "#/components/schemas/ErrorResponse"
    assert set(schema["components"]["schemas"]["ErrorDetail"]["properties"]) == {"message", "type", "param", "code"}
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An API key from `loopwright keys create`."
    }
    expected = {
        ("/v1/chat/completions", "post"): {"400", "401", "404", "413", "429", "502", "503"},
        ("/v1/models", "get"): {"401", "503"},
        ("/v1/traces", "get"): {"400", "401"},
        ("/v1/traces/{trace_id}", "get"): {"400", "401", "404"},
        ("/v1/feedback", "post"): {"400", "401", "404", "413", "429"},
        ("/metrics", "get"): {"401", "403"},
        ("/healthz", "get"): {"503"},
    }
    for (path, method), statuses in expected.items():
        operation = schema["paths"][path][method]
        declared = set(operation["responses"])
        assert "422" not in declared and declared == statuses | {"200"}, (path, declared)
        for status in statuses:
            assert operation["responses"][status]["content"]["application/json"]["schema"]["$ref"] == error_ref
        assert (operation.get("security") == [{"apiKey": []}]) == (path != "/healthz"), (path, operation.get("security"))
    chat_200 = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert {"application/json", "text/event-stream"} <= set(chat_200)
