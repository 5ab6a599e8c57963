"""A trivially fast OpenAI-compatible upstream for gateway benchmarks: one fixed chat.completion.

    python bench/env/upstream.py --port 18801

A bare ASGI callable under uvicorn (uvloop + httptools): it reads the request
body and answers `POST /v1/chat/completions` with the same precomputed bytes
every time, and `GET /v1/models` with one model. It does no JSON parsing, so
what a gateway in front of it adds is what the benchmark sees. Listens on
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json

MODEL = "bench-model"

ANSWER = "FlexPay 2.0 plans of 3 or 6 months are at 0% APR."


def completion(answer: str) -> bytes:
    """The one chat.completion this upstream answers with, as bytes."""
    message = {"role": "assistant", "content": answer}
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1764400000, "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 14, "total_tokens": 38},
    }).encode()


COMPLETION = completion(ANSWER)
MODELS = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]}).encode()
_JSON = [(b"content-type", b"application/json")]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # drain the body: a real upstream reads it
        message = await receive()
        more = message.get("more_body", False)
    path = scope["path"]
    if path.endswith("/chat/completions"):
        status, body = 200, COMPLETION
    elif path.endswith("/models"):
        status, body = 200, MODELS
    else:
        status, body = 404, b'{"error":{"message":"not found","type":"invalid_request_error"}}'
    await send({"type": "http.response.start", "status": status, "headers": [*_JSON, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", default=ANSWER, help="the assistant's text in every completion")
    args = parser.parse_args()
    global COMPLETION
    COMPLETION = completion(args.answer)
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
