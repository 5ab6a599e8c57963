"""Tool calling and structured output through `loopwright serve`, with a real upstream (issue 15, items 4 and 5).

Two `loopwright serve` servers on one workspace: the upstream serves `bank-lm`
(the `hf` backend: the sample's tiny LM trained here, decoding under the JSON
schema), and the gateway under test forwards `proxied` to it through the
`openai` backend, over real HTTP. The official `openai` client and LangChain's
`ChatOpenAI` talk to the gateway. Nothing is mocked.
"""

from __future__ import annotations

import json
from typing import Literal

import openai
import pytest
from live import Live, assert_openai_error, http_client, openai_client
from pydantic import BaseModel, ValidationError

from loopwright.registry import artifacts
from loopwright.registry.deployment import set_stable
from loopwright.samples.bank import DATA_DIR

PROXIED, LOCAL, STAPLER = "proxied", "bank-lm", "stapler"
KEY_ENV = "LW_TEST_UPSTREAM_KEY"


class Fee(BaseModel):
    """Look up one of the bank's fees."""

    product: Literal["FlexPay 2.0", "Everyday Checking"]
    kind: Literal["late", "monthly"]


class Answer(BaseModel):
    """A short answer and whether the bank charges it."""

    answer: str
    charged: bool


FEE_TOOL = {"type": "function", "function": {"name": "get_fee", "description": Fee.__doc__,
                                             "parameters": Fee.model_json_schema(), "strict": True}}
CARD_TOOL = {"type": "function", "function": {"name": "card_status", "parameters": {
    "type": "object", "properties": {"last4": {"type": "string", "pattern": "^[0-9]{4}$"}}, "required": ["last4"]}}}
QUESTION = [{"role": "user", "content": "What is the late fee for FlexPay 2.0?"}]


def _router(tiers: str) -> bytes:
    return f'mode = "passthrough"\n\n[tiers.{LOCAL}]\nbackend = "hf"\nprice = "small"\n' \
           f'options = {{ max_new_tokens = 96 }}\n{tiers}'.encode()


def _deploy(ws, toml: bytes) -> None:
    ref = artifacts.register(ws, "router", "tools", {"router.toml": toml,
                                                     "prices.json": (DATA_DIR / "prices.json").read_bytes()}).ref
    set_stable(ws, "router", ref, reason="tool-calling test stack")


@pytest.fixture
def stack(lite_workspace, register_sample, serve, new_key, monkeypatch) -> Live:
    """The upstream `loopwright serve` (hf) first, then the gateway whose `proxied` tier calls it."""
    ws = lite_workspace
    model, _ = register_sample(ws)
    set_stable(ws, "model:small", model.ref, reason="the sample LM")
    policy = artifacts.register(ws, "policy", "bank", {"policy.toml": (DATA_DIR.parent / "config" / "policy.toml").read_bytes()})
    set_stable(ws, "policy", policy.ref)
    _deploy(ws, _router(""))
    upstream = serve(ws)
    key = new_key(ws, tenant="larkspur-retail", role="app")
    monkeypatch.setenv(KEY_ENV, key)
    _deploy(ws, _router(
        f'\n[tiers.{PROXIED}]\nbackend = "openai"\nprice = "large"\n'
        f'options = {{ base_url = "{upstream.url}/v1", model = "{LOCAL}", api_key_env = "{KEY_ENV}", timeout_s = 120 }}\n'
        f'\n[tiers.{STAPLER}]\nbackend = "extractive"\nprice = "small"\n'
    ))
    gateway = serve(ws)
    live = Live(ws, gateway, key, openai_client(gateway, key), http_client(gateway, key))
    live.upstream = upstream
    yield live
    live.http.close()


def _traces(live: Live, model: str) -> list[dict]:
    """The traces of the calls `model` answered (on either server: they share the workspace)."""
    for server in (live.server, live.upstream):
        server.app.state.gateway.writer.flush()
    rows = live.http.get("/v1/traces", params={"limit": 50}).json()["data"]
    return [live.trace(r["id"]) for r in rows if r["tier"] == model]


def test_a_forced_tool_call_comes_back_to_the_caller_through_both_servers(stack):
    reply = stack.client.chat.completions.create(
        model=PROXIED, messages=QUESTION, tools=[FEE_TOOL], tool_choice={"type": "function", "function": {"name": "get_fee"}},
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_fee" and call.id.startswith("call_")
    Fee.model_validate_json(call.function.arguments)  # constrained decoding: schema-valid from a 0.2M-parameter model
    # Each hop's trace says a call went back, and neither ran anything.
    for model in (PROXIED, LOCAL):
        (record,) = _traces(stack, model)
        assert [(c["name"], c["arguments"]) for c in record["tool_calls_returned"]] == [("get_fee", call.function.arguments)]
        assert record["tools"] == [] and record["outcome"] == "answered"

    # tool_choice "required" of two tools: one call of either, valid for the tool it names.
    reply = stack.client.chat.completions.create(model=PROXIED, messages=QUESTION, tools=[FEE_TOOL, CARD_TOOL],
                                                 tool_choice="required", parallel_tool_calls=False)
    (call,) = reply.choices[0].message.tool_calls
    assert call.function.name in ("get_fee", "card_status")
    arguments = json.loads(call.function.arguments)
    if call.function.name == "get_fee":
        Fee.model_validate(arguments)
    else:
        assert set(arguments) == {"last4"} and len(arguments["last4"]) == 4 and arguments["last4"].isdigit()


def test_streamed_tool_calls_arrive_as_delta_tool_calls(stack):
    chunks = list(stack.client.chat.completions.create(model=PROXIED, messages=QUESTION, tools=[FEE_TOOL],
                                                       tool_choice="required", stream=True))
    pieces = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert pieces[0].id and pieces[0].function.name == "get_fee" and pieces[0].index == 0
    assert len(pieces) > 2 and all(p.index == 0 and p.id is None for p in pieces[1:])  # arguments as decoded
    Fee.model_validate_json("".join(p.function.arguments or "" for p in pieces))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert not any(c.choices[0].delta.content for c in chunks if c.choices)


def test_response_format_json_schema_and_json_object(stack):
    strict = {"type": "json_schema", "json_schema": {"name": "answer", "schema": Answer.model_json_schema(), "strict": True}}
    reply = stack.client.chat.completions.create(model=PROXIED, messages=QUESTION, response_format=strict)
    Answer.model_validate_json(reply.choices[0].message.content)
    assert reply.choices[0].finish_reason == "stop"
    (record,) = _traces(stack, PROXIED)
    assert record["response_format"] == "json_schema"

    chunks = list(stack.client.chat.completions.create(model=LOCAL, messages=QUESTION, stream=True,
                                                       response_format={"type": "json_object"}))
    assert isinstance(json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)), dict)


def test_a_tool_result_goes_back_to_the_model(stack):
    conversation = [*QUESTION,
                    {"role": "assistant", "content": None, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_fee", "arguments": '{"product": "FlexPay 2.0", "kind": "late"}'}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "$15 per missed payment"}]
    reply = stack.client.chat.completions.create(model=PROXIED, messages=conversation, tools=[FEE_TOOL], tool_choice="none")
    assert reply.choices[0].finish_reason in ("stop", "length") and reply.choices[0].message.tool_calls is None
    upstream_record = _traces(stack, LOCAL)[0]
    assert "tool_calls_returned" not in upstream_record  # the trace holds what the call set: no call went back

    bad = {"model": PROXIED, "messages": [*QUESTION, {"role": "tool", "content": "$15"}]}
    assert "tool_call_id" in assert_openai_error(stack.http.post("/v1/chat/completions", json=bad), 400)["message"]
    unknown = {"model": PROXIED, "messages": QUESTION, "tools": [FEE_TOOL],
               "tool_choice": {"type": "function", "function": {"name": "transfer_money"}}}
    error = assert_openai_error(stack.http.post("/v1/chat/completions", json=unknown), 400)
    assert "transfer_money" in error["message"] and "tool_choice" in error["message"]


def test_a_backend_that_cannot_honour_a_parameter_answers_400_naming_it(stack):
    for extra, param in (({"tools": [FEE_TOOL]}, "tools"),
                         ({"response_format": {"type": "json_object"}}, "response_format")):
        body = {"model": STAPLER, "messages": QUESTION, **extra}
        error = assert_openai_error(stack.http.post("/v1/chat/completions", json=body), 400, code="unsupported_parameter")
        assert error["param"] == param and "extractive" in error["message"]
        streamed = stack.http.post("/v1/chat/completions", json={**body, "stream": True})
        assert_openai_error(streamed, 400, code="unsupported_parameter")
    # tool_choice none asks for no call: nothing to refuse.
    body = {"model": STAPLER, "messages": QUESTION, "tools": [FEE_TOOL], "tool_choice": "none"}
    assert stack.http.post("/v1/chat/completions", json=body).status_code == 200


def test_langchain_chat_openai_against_loopwright_serve(stack):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=PROXIED, base_url=stack.server.url + "/v1", api_key=stack.key, max_retries=0, temperature=0,
                     timeout=120)
    said = llm.invoke("What is the late fee for FlexPay 2.0?")
    assert isinstance(said.content, str) and said.response_metadata["finish_reason"] in ("stop", "length")
    assert said.usage_metadata["output_tokens"] > 0
    streamed = list(llm.stream("What is the late fee for FlexPay 2.0?"))
    assert "".join(c.content for c in streamed) == said.content  # greedy: the same answer, in pieces

    called = llm.bind_tools([Fee], tool_choice="Fee").invoke("What is the late fee for FlexPay 2.0?")
    (call,) = called.tool_calls
    assert call["name"] == "Fee" and Fee.model_validate(call["args"])

    structured = llm.with_structured_output(Answer).invoke("Does FlexPay 2.0 charge a late fee?")
    assert isinstance(structured, Answer)
    with pytest.raises(ValidationError):  # the schema is really the pydantic model's
        Answer.model_validate({"answer": 1})


def test_the_openai_client_error_is_typed(stack):
    with pytest.raises(openai.BadRequestError) as raised:
        stack.client.chat.completions.create(model=STAPLER, messages=QUESTION, tools=[FEE_TOOL])
    assert raised.value.body["code"] == "unsupported_parameter" and raised.value.body["param"] == "tools"
