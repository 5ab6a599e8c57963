"""Real HTTP servers in a thread, for tests and benchmarks: any ASGI app (loopwright's own
`ThreadedServer`), and a tiny OpenAI-compatible upstream.

The upstream is the one thing loopwright's tests may fake (a provider is
outside the project), and it is faked at the HTTP transport only: a real
uvicorn server on a real socket answering `POST /v1/chat/completions`, plain
or streamed as server-sent events, the way vLLM or a hosted API would.

    with Upstream(answer="Hello [1]") as up:          # up.url == "http://127.0.0.1:PORT/v1"
        ...                                           # up.requests: every body it received
        up.fail_with = 503                            # answer 503 from now on (retries under test)
        up.chunk_delay_s = 0.1                        # streamed: a pause before each word, as a model decodes
        up.tool_calls = [("freeze_card", '{"last4": "5212"}')]   # answer with these calls (finish_reason tool_calls)

    with ThreadedServer(create_app(ws)) as server:    # any ASGI app; server.url, server.app
        ...

Standalone, for a benchmark that needs it in another process:

    python tests/upstream.py --port 9100 [--delay-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from loopwright.server.threaded import ThreadedServer

__all__ = ["ThreadedServer", "Upstream", "upstream_app"]


def _usage(prompt: str, answer: str) -> dict[str, int]:
    p, c = len(prompt.split()), len(answer.split())
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def upstream_app(state: Upstream) -> FastAPI:
    """An OpenAI-compatible chat endpoint that answers `state.answer` (or fails with `state.fail_with`)."""
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": state.model, "object": "model", "created": 0, "owned_by": "upstream"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append(body)
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if state.fail_with:
            error = {"error": {"message": f"upstream says {state.fail_with}", "type": "server_error", "param": None, "code": None}}
            return JSONResponse(error, status_code=state.fail_with)
        if state.body is not None:  # a broken provider: this body, as is, with a 200
            return JSONResponse(state.body)
        answer = state.answer
        prompt = " ".join(str(m.get("content") or "") for m in body.get("messages", []))
        base = {"id": "chatcmpl-up" + uuid.uuid4().hex[:12], "created": int(time.time()), "model": body.get("model") or state.model}
        if state.tool_calls:
            calls = [{"id": f"call_up{i}", "type": "function", "function": {"name": n, "arguments": a}}
                     for i, (n, a) in enumerate(state.tool_calls)]
            if body.get("stream"):
                return StreamingResponse(_call_chunks(base, calls), media_type="text/event-stream")
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            return JSONResponse({**base, "object": "chat.completion", "usage": _usage(prompt, ""),
                                 "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]})
        if body.get("stream"):
            return StreamingResponse(_chunks(base, answer, prompt, state.chunk_delay_s), media_type="text/event-stream")
        return JSONResponse(
            {
                **base,
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": _usage(prompt, answer),
            }
        )

    return app


async def _chunks(base: dict, answer: str, prompt: str, delay_s: float = 0.0):
    def event(delta: dict, finish: str | None = None) -> str:
        chunk = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    words = answer.split(" ")
    for i, word in enumerate(words):
        if delay_s:
            await asyncio.sleep(delay_s)
        yield event({"content": word if i == len(words) - 1 else word + " "})
    yield event({}, "stop")
    yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [], 'usage': _usage(prompt, answer)})}\n\n"
    yield "data: [DONE]\n\n"


async def _call_chunks(base: dict, calls: list[dict]):
    """Tool calls streamed as OpenAI does: each call's id and name, then its arguments in two fragments."""
    def event(delta: dict, finish: str | None = None) -> str:
        chunk = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": None})
    for i, c in enumerate(calls):
        args = c["function"]["arguments"]
        yield event({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                     "function": {"name": c["function"]["name"], "arguments": ""}}]})
        for part in (args[: len(args) // 2], args[len(args) // 2:]):
            yield event({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
    yield event({}, "tool_calls")
    yield "data: [DONE]\n\n"


class Upstream(ThreadedServer):
    """A tiny OpenAI-compatible provider. `url` is its base URL with `/v1`, as an OpenAI client wants it."""

    def __init__(self, *, answer: str = "Hello from upstream.", model: str = "upstream-model", port: int = 0, delay_ms: float = 0.0):
        self.answer = answer
        self.model = model
        self.fail_with: int | None = None
        self.body: Any = None
        self.delay_s = delay_ms / 1e3
        self.chunk_delay_s = 0.0  # streamed answers: the pause before each word
        self.requests: list[dict[str, Any]] = []
        self.tool_calls: list[tuple[str, str]] | None = None  # (name, arguments JSON): answer with these calls
        super().__init__(upstream_app(self), port=port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A tiny OpenAI-compatible upstream for benchmarks.")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--answer", default="Hello from upstream.")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    up = Upstream(answer=args.answer, port=args.port, delay_ms=args.delay_ms).start()
    print(f"upstream at {up.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        up.stop()
