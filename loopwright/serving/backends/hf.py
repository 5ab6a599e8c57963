"""`hf`: a local Hugging Face causal LM, from the deployment's model slot, with its adapter slot's LoRA.

Router tier options (all optional):

    model_slot = "model:small"      the slot whose `model` artifact (a registered checkpoint) answers
    adapter_slot = "adapter:small"  the slot whose LoRA `adapter` applies, when one is deployed; "" for none
    quantize = "int8"               int8 dynamic quantisation of Linear layers (loopwright.hf.quantize)
    dtype = "float32"               else the measured fast one (loopwright.hf.precision)
    max_new_tokens = 128            the most a request may generate (a request's max_tokens is capped by it)
    window_ms, max_batch, max_queue the batching engine's (loopwright.hf.engine)

One `GenerationEngine` per (checkpoint digest, precision, engine settings) is kept warm by the
gateway and shared by every tier and router naming it, so a router rollback reloads nothing.
Each request takes its model and adapter from its own bundle: stable and canary callers can get
different adapters on one loaded base, in one batch. An adapter is verified (its digest, its base,
the deployed policy's caps) and attached on first use, between decode steps, with no restart.

`response_format` (json_object, json_schema) and a forced tool call (`tool_choice` required or
a named function) are decoded under the schema (`loopwright.hf.constrained`), so the output is
valid JSON whatever the model's size; a forced call's arguments stream as `delta.tool_calls`.
With `tool_choice: auto` the model answers freely, and its answer is a call only when it is
`{"name": <one of the tools>, "arguments": {...}}`: a small model may honestly answer in text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import ConfigError, IntegrityError, InvalidInput
from loopwright.serving.tool_calls import FunctionCall, FunctionTool, Steering, ToolCallDelta, call_id, parse_call
from loopwright.serving.backends.base import (
    Backend,
    BackendContext,
    BackendError,
    Generation,
    GenerationRequest,
    register_backend,
)

if TYPE_CHECKING:
    from loopwright.hf.engine import GenerationEngine
    from loopwright.registry.artifacts import Artifact


class HFOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_slot: str = Field("model:small", description="Deployment slot holding the checkpoint.")
    adapter_slot: str = Field("adapter:small", description="Deployment slot holding the LoRA adapter; empty for none.")
    quantize: Literal["int8"] | None = Field(None, description="int8 dynamic quantisation of Linear layers.")
    dtype: Literal["float32", "bfloat16"] | None = Field(None, description="Weights dtype; default: the measured fast one.")
    max_new_tokens: int = Field(128, ge=1, le=4096, description="Most tokens a request may generate.")
    window_ms: float = Field(5.0, ge=0, le=1000, description="How long an idle engine waits for more requests to batch.")
    max_batch: int = Field(16, ge=1, le=256, description="Most sequences decoded together.")
    max_queue: int = Field(64, ge=1, description="Requests waiting to join the batch; past it, 429.")
    split_parts: bool = Field(False, description="The gateway's: each part of a multi-part question adds its best span.")


class HFBackend(Backend):
    name = "hf"
    supports = frozenset({"tools", "response_format"})

    def __init__(self, options: dict[str, Any], context: BackendContext | None = None):
        try:
            self.options = HFOptions.model_validate(options)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"hf backend option {where}: {err['msg']}") from None
        if context is None or context.ws is None:
            raise ConfigError("the hf backend loads its model from a workspace; build it through a gateway")
        self.context = context
        self.slots = (self.options.model_slot,)

    def _engine(self, model: Artifact) -> tuple[GenerationEngine, threading.Lock]:
        o = self.options
        key = f"{model.digest}:{o.quantize}:{o.dtype}:{o.window_ms}:{o.max_batch}:{o.max_queue}:{o.max_new_tokens}"
        engine = self.context.keep_warm("hf-engine", key, lambda: self._load(model))
        return engine, self.context.keep_warm("hf-attach-lock", key, threading.Lock)

    def _load(self, model: Artifact) -> GenerationEngine:
        from loopwright.hf.checkpoint import load_causal_lm
        from loopwright.hf.engine import GenerationEngine

        o = self.options
        try:
            lm, tokenizer = load_causal_lm(self.context.ws, model, quantize=o.quantize, dtype=o.dtype)
        except (InvalidInput, IntegrityError) as exc:  # deployed, yet unloadable: not the caller's fault
            raise BackendError(f"{model.ref} cannot be loaded: {exc.message}") from None
        return GenerationEngine(lm, tokenizer, max_batch=o.max_batch, window_ms=o.window_ms, max_queue=o.max_queue,
                                max_new_tokens=o.max_new_tokens)

    def _attached(self, engine: GenerationEngine, lock: threading.Lock, model: Artifact, adapter: Artifact) -> str:
        """The engine's name for `adapter`, attaching it (verified against `model` and the caps) on first use."""
        if adapter.digest not in engine.adapters:
            from loopwright.hf.adapters import verify_adapter

            with lock:
                if adapter.digest not in engine.adapters:
                    try:
                        folder = verify_adapter(self.context.ws, adapter, base=model)
                    except (InvalidInput, IntegrityError) as exc:  # deployed, yet unservable: not the caller's fault
                        raise BackendError(f"{adapter.ref} cannot be served with {model.ref}: {exc.message}") from None
                    engine.attach_adapter(adapter.digest, str(folder))
        return adapter.digest

    def _submit(self, request: GenerationRequest):
        o = self.options
        model = request.artifacts[o.model_slot]  # present: the gateway checks `slots` before calling
        adapter = request.artifacts.get(o.adapter_slot) if o.adapter_slot else None
        engine, lock = self._engine(model)
        name = self._attached(engine, lock, model, adapter) if adapter is not None else None
        offered = [t.to_openai() for t in request.steering.tools] if request.steering.wants_tools else None
        ids = prompt_ids(engine.tokenizer, chat_messages(request.messages_for_model()), tools=offered)
        wanted = min(request.max_tokens or o.max_new_tokens, o.max_new_tokens)
        allowed = constraint(engine.tokenizer, request.steering, budget=wanted)
        handle = engine.submit(ids, max_new_tokens=wanted, temperature=request.temperature, adapter=name, allowed=allowed)
        info = {"backend": "hf", "model": model.digest, "adapter": adapter.digest if adapter else None,
                "quantize": o.quantize}
        return handle, info

    def generate(self, request: GenerationRequest) -> Generation:
        handle, info = self._submit(request)
        result = handle.result()
        text = result.text.strip()
        generation = Generation(
            text=text,
            citations=request.cited(text),
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            finish_reason=result.finish_reason,
            info={**info, "ttft_ms": round(result.ttft_s * 1e3, 2)},
        )
        return as_calls(generation, request.steering)

    def stream(self, request: GenerationRequest) -> Iterator[str | ToolCallDelta | Generation]:
        """The engine's deltas as decoded, stripped at both ends as `generate` strips the whole text; a forced
        call's arguments as `ToolCallDelta`s; an answer that may be a call (`auto`, or `required` of several
        tools) as one piece once it is known."""
        wanted = request.steering
        forced = wanted.forced_tool() if wanted.wants_tools else None
        if wanted.wants_tools and forced is None:
            yield from super().stream(request)
            return
        if forced is not None:
            yield from self._stream_call(request, forced)
            return
        handle, info = self._submit(request)
        started, spaces = False, ""
        for delta in handle:
            if not started:
                delta = delta.lstrip()
                started = bool(delta)
            body = delta.rstrip()
            if body:
                yield spaces + body
                spaces = delta[len(body):]
            else:
                spaces += delta  # whitespace is sent only once more text follows it
        result = handle.result()
        text = result.text.strip()
        yield Generation(text=text, citations=request.cited(text), tokens_in=result.tokens_in,
                         tokens_out=result.tokens_out, finish_reason=result.finish_reason,
                         info={**info, "ttft_ms": round(result.ttft_s * 1e3, 2)})

    def _stream_call(self, request: GenerationRequest, tool: FunctionTool) -> Iterator[ToolCallDelta | Generation]:
        """A forced call of `tool`: its id and name at once, then the arguments as the engine decodes them."""
        handle, info = self._submit(request)
        call = FunctionCall(call_id(), tool.name, "")
        yield ToolCallDelta(0, "", call.id, call.name)
        for delta in handle:
            yield ToolCallDelta(0, delta)
        result = handle.result()
        yield Generation(text="", tokens_in=result.tokens_in, tokens_out=result.tokens_out,
                         finish_reason=result.finish_reason, info={**info, "ttft_ms": round(result.ttft_s * 1e3, 2)},
                         tool_calls=[FunctionCall(call.id, call.name, result.text.strip())])


def constraint(tokenizer: Any, wanted: Steering, *, budget: int):
    """The decoding constraint the caller's tools or format ask for: a forced call's arguments, one call of several
    tools, or the response format's schema; None for free text (no format, or `tool_choice` auto or none). Past
    half the `budget` of tokens the JSON is wrapped up, so it closes before the budget ends."""
    from loopwright.hf.constrained import call_schema, json_constraint

    if wanted.wants_tools and wanted.choice in ("required", "function"):
        forced = wanted.forced_tool()
        schema = forced.parameters if forced else call_schema([(t.name, t.parameters) for t in wanted.tools])
    elif wanted.wants_json and not wanted.wants_tools:  # with tools on auto, the model decides, in free text
        schema = wanted.response_format.schema
    else:
        return None
    return json_constraint(tokenizer, schema, wrap_up_after=budget // 2)


def as_calls(generation: Generation, wanted: Steering) -> Generation:
    """`generation` with its text read as a call of the caller's tools where the request made or allowed one."""
    if not wanted.wants_tools:
        return generation
    forced = wanted.forced_tool()
    if forced is not None:
        call = FunctionCall(call_id(), forced.name, generation.text)
    else:
        call = parse_call(generation.text, wanted.tools)
    if call is None:
        return generation
    return Generation(text="", tokens_in=generation.tokens_in, tokens_out=generation.tokens_out,
                      finish_reason=generation.finish_reason, info=generation.info, tool_calls=[call])


def chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The conversation as a chat template reads it: an assistant turn's tool calls written into its text as
    the JSON a call is decoded as, a tool's result as a `tool` turn."""
    out = []
    for m in messages:
        content = m.get("content") or ""
        if m.get("tool_calls"):
            calls = [{"name": c["function"]["name"], "arguments": _json_or_text(c["function"]["arguments"])}
                     for c in m["tool_calls"]]
            content = (content + "\n" if content else "") + json.dumps(calls[0] if len(calls) == 1 else calls)
        out.append({"role": m["role"], "content": content})
    return out


def _json_or_text(arguments: str) -> Any:
    try:
        return json.loads(arguments or "{}")
    except ValueError:  # the caller's own history: shown to the model as it was sent
        return arguments


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]], tools: list[dict[str, Any]] | None = None) -> list[int]:
    """Token ids of the conversation through the tokenizer's chat template, ready for the assistant's turn; `tools`
    (OpenAI function specs) go to templates that render them (a model trained for tool calls reads them there)."""
    if tokenizer.chat_template:
        extra = {"tools": tools} if tools else {}
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, **extra)
        ids = list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
    else:
        ids = tokenizer("\n".join(m["content"] for m in messages), add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    # Models train on bos-prefixed sequences; templates that do not write it get it here.
    return [bos, *ids] if bos is not None and (not ids or ids[0] != bos) else ids


register_backend("hf", HFBackend)
