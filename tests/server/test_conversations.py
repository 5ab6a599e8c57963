"""Conversation ids through the real gateway and the official openai client: generated when absent, taken from
`X-Conversation-Id` or `metadata.conversation_id`, returned, stored and queryable; a bad one is a one-line 400;
another customer's id never lets a caller see or join that conversation."""

from __future__ import annotations

import pytest
from live import MODEL, http_client, lw, openai_client

from loopwright.serving.auth import create_key


def _ask(client, text: str, **kwargs):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}], **kwargs)


def test_a_conversation_is_generated_carried_and_queryable(live, new_key):
    first = lw(_ask(live.client, "What is the late fee for FlexPay 2.0?"))
    conversation = first["conversation_id"]
    assert conversation.startswith("conv_") and len(conversation) == 29
    again = lw(_ask(live.client, "And is there a grace period?", extra_headers={"X-Conversation-Id": conversation}))
    third = lw(_ask(live.client, "Thanks, how do I freeze my card?", metadata={"conversation_id": conversation}))
    assert again["conversation_id"] == third["conversation_id"] == conversation
    chunks = list(live.client.chat.completions.create(model=MODEL, stream=True, messages=[{"role": "user", "content": "How much is a domestic wire?"}],
                                                      extra_headers={"X-Conversation-Id": conversation}))
    streamed = lw(chunks[-1])
    assert streamed["conversation_id"] == conversation
    other = lw(_ask(live.client, "What is the late fee for FlexPay 2.0?"))
    assert other["conversation_id"] != conversation  # no id: a new conversation

    listed = live.http.get("/v1/traces", params={"conversation": conversation}).json()["data"]
    assert sorted(t["id"] for t in listed) == sorted([first["trace_id"], again["trace_id"], third["trace_id"], streamed["trace_id"]])
    assert live.trace(again["trace_id"])["conversation"] == conversation
    body = live.http.get(f"/v1/conversations/{conversation}").json()
    assert [[t["id"] for t in c["turns"]] for c in body["conversations"]] == [[first["trace_id"], again["trace_id"], third["trace_id"], streamed["trace_id"]]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_conversation_id_is_a_one_line_400(live):
    for headers, metadata, named in (
        ({"X-Conversation-Id": "x" * 65}, None, "longer than 64 characters"),
        ({"X-Conversation-Id": "has space"}, None, "may hold only letters"),
        (None, {"conversation_id": "ana@example.com"}, "may hold only letters"),
        (None, {"conversation_id": ""}, "non-empty"),
        ({"X-Conversation-Id": "c-1"}, {"conversation_id": "c-2"}, "different conversations"),
    ):
        response = live.http.post("/v1/chat/completions", headers=headers or {},
                                  json={"model": MODEL, "messages": [{"role": "user", "content": "hello"}], **({"metadata": metadata} if metadata else {})})
        error = response.json()["error"]
        assert response.status_code == 400 and named in error["message"] and "\n" not in error["message"], (headers, metadata, response.text)
        assert error["code"] == "invalid_conversation_id" and error["param"] == "conversation_id"
    assert live.http.get("/v1/traces", params={"conversation": "a b"}).status_code == 400
    # the refused calls are traced, without the text they sent as an id
    stored = live.http.get("/v1/traces", params={"outcome": "error"}).json()["data"]
    assert stored and all(t["conversation"] is None for t in stored)


def test_another_customers_conversation_id_neither_shows_nor_joins_it(live, serve):
    ana_key, _ = create_key(live.ws, tenant="larkspur-retail", role="customer", scopes=("retail",), subject="cus_001")
    ben_key, _ = create_key(live.ws, tenant="larkspur-retail", role="customer", scopes=("retail",), subject="cus_002")
    ana, ben = openai_client(live.server, ana_key), openai_client(live.server, ben_key)
    ana_http, ben_http = http_client(live.server, ana_key), http_client(live.server, ben_key)
    try:
        mine = lw(_ask(ana, "What is the late fee for FlexPay 2.0?", extra_headers={"X-Conversation-Id": "order-42"}))
        assert ben_http.get("/v1/conversations/order-42").status_code == 404  # as an id never used
        assert ben_http.get("/v1/traces", params={"conversation": "order-42"}).json()["data"] == []
        theirs = lw(_ask(ben, "What is the late fee for FlexPay 2.0?", extra_headers={"X-Conversation-Id": "order-42"}))
        assert theirs["conversation_id"] == "order-42"  # Ben's own conversation of that name

        seen_by_ana = ana_http.get("/v1/conversations/order-42").json()["conversations"]
        seen_by_ben = ben_http.get("/v1/conversations/order-42").json()["conversations"]
        assert [[t["id"] for t in c["turns"]] for c in seen_by_ana] == [[mine["trace_id"]]]
        assert [[t["id"] for t in c["turns"]] for c in seen_by_ben] == [[theirs["trace_id"]]]
        assert ben_http.get(f"/v1/traces/{mine['trace_id']}").status_code == 404
        # an operator of the tenant sees both, as two conversations with different owners
        admin_key, _ = create_key(live.ws, tenant="larkspur-retail", role="admin", scopes=("retail",))
        with http_client(live.server, admin_key) as admin:
            owners = {c["owner"]: [t["id"] for t in c["turns"]] for c in admin.get("/v1/conversations/order-42").json()["conversations"]}
        assert owners == {"cus_001": [mine["trace_id"]], "cus_002": [theirs["trace_id"]]}
    finally:
        for c in (ana, ben, ana_http, ben_http):
            c.close()
