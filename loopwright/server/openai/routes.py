"""`POST /v1/chat/completions` and `GET /v1/models`: thin over `Gateway.complete`."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator

import anyio

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response, StreamingResponse

from loopwright.errors import LoopwrightError
from loopwright.policy.principal import Principal
from loopwright.server.deps import authenticate, gateway_of
from loopwright.server.errors import for_exception, responses
from loopwright.server.openai.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    FunctionCallOut,
    ModelCard,
    ModelList,
    ResponseMessage,
    ToolCallOut,
    Usage,
)
from loopwright.serving.pipeline import ChatRequest, Completion, Stream
from loopwright.serving.tool_calls import ToolCallDelta

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models", response_model=ModelList, responses=responses(401, 503))
def list_models(request: Request, principal: Principal = Depends(authenticate)) -> ModelList:
    return ModelList(data=[ModelCard(id=name) for name in gateway_of(request).models()])


_STREAM = {"200": {"content": {"text/event-stream": {"schema": {"type": "string", "description": "With `stream: true`: chat.completion.chunk events."}}}}}


@router.post(
    "/chat/completions", response_model=ChatCompletionResponse, responses=responses(400, 401, 404, 413, 429, 502, 503),
    openapi_extra={"responses": _STREAM},
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, principal: Principal = Depends(authenticate),
    conversation: str | None = Header(
        None, alias="X-Conversation-Id", description="loopwright: the conversation this call belongs to (as "
        "`metadata.conversation_id`): 1-64 letters, digits and `. _ : -`; a new one is started when absent.",
    ),
):
    gateway = gateway_of(request)
    chat = ChatRequest(
        model=body.model,
        messages=[m.to_chat() for m in body.messages],
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        user=body.user,
        conversation=body.conversation(conversation),
        confirm_token=body.confirm_token,
        idempotency_key=request.headers.get("idempotency-key"),
        steering=body.steering(),
    )
    created = int(time.time())
    if body.stream:  # the stages before generation run here, so a bad request is an error status, not a stream
        stream = await anyio.to_thread.run_sync(functools.partial(gateway.stream, chat, principal, auth_ms=request.state.auth_ms))
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(_sse(stream, created, include_usage), media_type="text/event-stream")
    # An async route: a pass-through call stays on the event loop (no worker-thread hop for the call, nor for
    # FastAPI's response validation, which it runs in a thread for a sync route); any other runs in a thread.
    completion = await gateway.acomplete(chat, principal, auth_ms=request.state.auth_ms)
    response = ChatCompletionResponse(
        id=_completion_id(completion),
        created=created,
        model=completion.model,
        choices=[Choice(message=_message(completion), finish_reason=completion.finish_reason)],
        usage=_usage(completion),
        loopwright=completion.loopwright,
    )
    # Serialised here: returned as a model, FastAPI validates it once more against `response_model` first.
    return Response(response.model_dump_json(), media_type="application/json")


def _message(c: Completion) -> ResponseMessage:
    """The assistant's message: its text, or the calls of the caller's tools (content null when there is none)."""
    if not c.tool_calls:
        return ResponseMessage(content=c.text)
    calls = [ToolCallOut(id=t.id, function=FunctionCallOut(name=t.name, arguments=t.arguments)) for t in c.tool_calls]
    return ResponseMessage(content=c.text or None, tool_calls=calls)


def _completion_id(completion: Completion) -> str:
    return "chatcmpl-" + completion.trace_id.removeprefix("tr_")


def _usage(c: Completion) -> Usage:
    return Usage(prompt_tokens=c.tokens_in, completion_tokens=c.tokens_out, total_tokens=c.tokens_in + c.tokens_out)


def _sse(stream: Stream, created: int, include_usage: bool) -> Iterator[str]:
    """OpenAI chat.completion.chunk events: the text as output policy releases it (and `delta.tool_calls` pieces of
    a call of the caller's tools as the backend makes it), then a last chunk with the finish reason (`tool_calls`,
    or `content_filter` when policy ended the stream) and the `loopwright` object."""
    completion_id = "chatcmpl-" + stream.trace_id.removeprefix("tr_")
    base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": stream.model}

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    try:
        for piece in stream:
            yield event({"tool_calls": [piece.to_openai()]} if isinstance(piece, ToolCallDelta) else {"content": piece})
    except LoopwrightError as exc:  # after the first text (an upstream that broke off): OpenAI's error event
        yield f"data: {for_exception(exc).body.decode()}\n\n"
        return
    finally:
        stream.close()  # the client went away mid-stream: the trace says so
    completion = stream.completion
    yield event({}, completion.finish_reason, loopwright=completion.loopwright)
    if include_usage:
        usage = {**base, "choices": [], "usage": _usage(completion).model_dump()}
        yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"
