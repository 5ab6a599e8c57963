"""`openai`: any OpenAI-compatible endpoint (vLLM, llama.cpp server, Ollama, a hosted API).

Options: `base_url`, `model`, `api_key_env` (the variable holding the key),
`timeout_s`, `max_retries`. Connection errors, timeouts, 429s and 5xx are
retried with exponential backoff (tenacity); then a `BackendError` names the
endpoint.

`agenerate` (what the gateway's pass-through route awaits on its event loop) sends
the same request over a keep-alive pool of its own (`keepalive.KeepAlivePool`), with
the same retries and the same error names as the SDK's; `generate` and `stream`
(threads: the governed path, streaming) use the openai SDK.

The caller's `tools`, `tool_choice`, `parallel_tool_calls` and
`response_format` pass through to the upstream as sent, and the `tool_calls` it
answers with come back parsed (streamed: its `delta.tool_calls` fragments are
forwarded as they arrive, and assembled for the trace).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from loopwright.errors import ConfigError
from loopwright.serving.backends.base import (
    Backend,
    BackendContext,
    BackendError,
    Generation,
    GenerationRequest,
    register_backend,
)
from loopwright.serving.backends.keepalive import KeepAlivePool, UpstreamConnectionError, UpstreamTimeout
from loopwright.serving.tool_calls import FunctionCall, Steering, ToolCallDelta

# The openai SDK's exception names by status, so a failure reads the same from either path.
_STATUS_ERRORS = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError", 404: "NotFoundError",
                  409: "ConflictError", 422: "UnprocessableEntityError", 429: "RateLimitError"}


class _Failure(Exception):
    """A pool POST that failed; `retryable` as the SDK path's retry policy would judge the same failure."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class OpenAICompatBackend(Backend):
    name = "openai"
    supports = frozenset({"tools", "response_format"})

    def __init__(self, options: dict[str, Any], context: BackendContext | None = None):
        import openai

        if not options.get("base_url"):
            raise ConfigError("the openai backend needs options.base_url")
        self.base_url = options["base_url"]
        self.model = options.get("model")
        key = os.environ.get(options.get("api_key_env", ""), "") or options.get("api_key", "") or "unused"
        self._openai = openai
        self._timeout_s = float(options.get("timeout_s", 30))
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self._timeout_s, max_retries=0)
        retryable = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)
        # One retry policy for both paths: the SDK's retryable errors, and the pool's `_Failure`s that say so.
        retrying = retry(
            retry=retry_if_exception(lambda e: isinstance(e, retryable) or (isinstance(e, _Failure) and e.retryable)),
            stop=stop_after_attempt(1 + int(options.get("max_retries", 2))),
            wait=wait_exponential(multiplier=0.1, max=2),
            reraise=True,
        )
        self._call = retrying(self._client.chat.completions.create)
        # Non-streaming calls go through the client's raw `post` (its documented way to reach any endpoint):
        # same auth, timeouts and error classes, without the typed request transform and response model,
        # which were ~30% of the gateway's CPU per pass-through call (measured with cProfile).
        self._post = retrying(self._client.post)
        self._pool = KeepAlivePool(self.base_url, headers={"authorization": f"Bearer {key}"})
        self._retrying = retrying

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model or request.model, "messages": request.messages_for_model()}
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        params.update(steering_params(request.steering))
        return params

    def generate(self, request: GenerationRequest) -> Generation:
        try:
            body = self._post("/chat/completions", cast_to=object, body=self._params(request))  # the JSON body as is
        except self._openai.APIError as exc:
            raise BackendError(f"upstream {self.base_url} failed: {type(exc).__name__}: {exc}") from None
        return self._generation(request, body)

    async def agenerate(self, request: GenerationRequest) -> Generation:
        """`generate` on the running event loop, over the keep-alive pool."""
        try:
            data = await self._apost(json.dumps(self._params(request), ensure_ascii=False).encode())
        except _Failure as exc:
            raise BackendError(f"upstream {self.base_url} failed: {exc}") from None
        try:
            return self._generation(request, json.loads(data))
        except ValueError:
            raise BackendError(f"upstream {self.base_url} answered without choices[0].message") from None

    async def _apost(self, payload: bytes) -> bytes:
        """`_pool_post` under the retry policy. The first try runs outside tenacity, whose per-call state machine
        (a copy of the policy, its actions) was 4.6% of the pass-through gateway's CPU (py-spy, bench/README.md);
        a retryable failure then goes to tenacity as that policy's first failed attempt, so the attempts and
        waits are the policy's own."""
        try:
            return await self._pool_post(payload)
        except _Failure as exc:
            if not exc.retryable:
                raise
            failed: list[_Failure] = [exc]

        async def attempt() -> bytes:
            if failed:
                raise failed.pop()
            return await self._pool_post(payload)

        return await self._retrying(attempt)()  # tenacity awaits a coroutine function's retries on the loop

    async def _pool_post(self, payload: bytes) -> bytes:
        """One POST over the pool: the 2xx body, else a `_Failure` named as the openai SDK names it."""
        try:
            status, data = await self._pool.post("/chat/completions", payload, timeout_s=self._timeout_s)
        except UpstreamTimeout as exc:
            raise _Failure(f"APITimeoutError: Request timed out ({exc})", retryable=True) from None
        except UpstreamConnectionError as exc:
            raise _Failure(f"APIConnectionError: Connection error ({exc})", retryable=True) from None
        if 200 <= status < 300:
            return data
        name = "InternalServerError" if status >= 500 else _STATUS_ERRORS.get(status, "APIStatusError")
        # a wrong request would be wrong again; a rate limit or a server error may pass on a later try
        raise _Failure(f"{name}: Error code: {status} - {data[:300].decode(errors='replace')}",
                       retryable=status == 429 or status >= 500)

    def _generation(self, request: GenerationRequest, body: Any) -> Generation:
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            calls = parsed_calls(choice["message"].get("tool_calls") or [])
            usage = body.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(f"upstream {self.base_url} answered without choices[0].message") from None
        return Generation(
            text=text,
            citations=request.cited(text),
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason") or "stop",
            tool_calls=calls,
        )

    def stream(self, request: GenerationRequest) -> Iterator[str | ToolCallDelta | Generation]:
        """The upstream's server-sent deltas as they arrive, then the finished `Generation` (usage asked for)."""
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}  # index -> id, name and arguments so far
        finish, usage = "stop", None
        try:
            chunks = self._call(**self._params(request), stream=True, stream_options={"include_usage": True})
            with chunks:  # closing it (the caller stopped early) closes the upstream connection
                for chunk in chunks:
                    usage = chunk.usage or usage
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finish = choice.finish_reason or finish
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield choice.delta.content
                    for piece in choice.delta.tool_calls or ():
                        yield collect_call(calls, piece)
        except self._openai.APIError as exc:
            raise BackendError(f"upstream {self.base_url} failed: {type(exc).__name__}: {exc}") from None
        text = "".join(parts)
        done = [FunctionCall(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())]
        yield Generation(text=text, citations=request.cited(text), tokens_in=usage.prompt_tokens if usage else 0,
                         tokens_out=usage.completion_tokens if usage else 0, finish_reason=finish, tool_calls=done)

    def close(self) -> None:
        self._client.close()
        self._pool.close()


register_backend("openai", OpenAICompatBackend)


def steering_params(wanted: Steering) -> dict[str, Any]:
    """The caller's tools and response format as OpenAI request fields (only those the caller set)."""
    params: dict[str, Any] = {}
    if wanted.tools:
        params["tools"] = [t.to_openai() for t in wanted.tools]
        if not wanted.parallel_tool_calls:
            params["parallel_tool_calls"] = False
    if wanted.tool_choice is not None:
        params["tool_choice"] = wanted.tool_choice.to_openai()
    if wanted.response_format is not None:
        params["response_format"] = wanted.response_format.to_openai()
    return params


def parsed_calls(raw: list[Any]) -> list[FunctionCall]:
    """An upstream message's `tool_calls`, checked: a call without a name is a broken upstream."""
    calls = []
    for c in raw:
        fn = c.get("function") or {}
        if not fn.get("name"):
            raise BackendError("an upstream tool call has no function name")
        calls.append(FunctionCall(c.get("id") or "", fn["name"], fn.get("arguments") or "{}"))
    return calls


def collect_call(calls: dict[int, dict[str, str]], piece: Any) -> ToolCallDelta:
    """Add one streamed `delta.tool_calls` fragment to `calls` (by index) and pass it on as a `ToolCallDelta`."""
    fn = piece.function
    name, args = (fn.name if fn else None), (fn.arguments if fn else None) or ""
    call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
    call["id"] = piece.id or call["id"]
    call["name"] = name or call["name"]
    call["arguments"] += args
    return ToolCallDelta(piece.index, args, piece.id, name)
