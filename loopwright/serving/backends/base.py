"""The backend interface and registry."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopwright.errors import ConfigError, InvalidInput, LoopwrightError
from loopwright.plugins import load_plugins
from loopwright.serving.prompts import PromptBundle
from loopwright.serving.tool_calls import FunctionCall, Steering, ToolCallDelta
from loopwright.serving.trace import Citation

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

# A citation mark as generators write it: [2], [1, 3] or [1][3] (each bracket is matched on its own).
_CITATION = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")


class BackendError(LoopwrightError):
    """A backend failed to produce an answer (upstream down, timed out, refused)."""


class UnsupportedParameter(InvalidInput):
    """The request asks for something the answering backend cannot honour (`tools` of an extractive tier, say):
    a 400 naming the parameter, never a silent answer without it."""

    code = "unsupported_parameter"

    def __init__(self, param: str, backend: str, hint: str | None = None):
        super().__init__(f"{param} is not supported by the {backend!r} backend that answers this model",
                         hint=hint or "send the request without it, or to a model served by the hf or openai backend")
        self.param = param


@dataclass
class GenerationRequest:
    question: str  # the masked user question
    messages: list[dict[str, str]]  # the masked conversation, for passthrough and chat backends
    evidence: list[Citation]  # numbered evidence spans: the generator cites them as [n]
    prompt: PromptBundle | None
    language: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    model: str | None = None
    artifacts: Mapping[str, Artifact] = field(default_factory=dict)  # the request's bundle, slot -> artifact
    steering: Steering = field(default_factory=Steering)  # the caller's tools and response format
    contexts: list[str] = field(default_factory=list)  # each evidence span's heading path (a table's header line too)

    def context_of(self, n: int) -> str:
        """Evidence [n]'s context: the document title, heading path and, for a table row, the header line."""
        return self.contexts[n - 1] if 0 < n <= len(self.contexts) else ""

    def messages_for_model(self) -> list[dict[str, str]]:
        """What a generating model reads: the prompt bundle rendered with the evidence, else the conversation."""
        if self.prompt is not None and self.evidence:
            return self.prompt.render(self.question, [e.text for e in self.evidence])
        return self.messages

    def cited(self, text: str) -> list[int]:
        """The evidence numbers `text` cites as [n] (or [n, m]), in the order first cited; a number with no
        evidence behind it ([7] of 5 spans) cites nothing."""
        return cited_numbers(text, len(self.evidence))


def cited_numbers(text: str, evidence: int) -> list[int]:
    """The numbers 1..`evidence` that `text` cites as [n] or [n, m], in the order first cited, each once."""
    seen: dict[int, None] = {}
    for group in _CITATION.findall(text):
        for n in map(int, group.split(",")):
            if 0 < n <= evidence:
                seen.setdefault(n, None)
    return list(seen)


@dataclass
class Generation:
    text: str
    citations: list[int] = field(default_factory=list)  # evidence numbers the text cites, in the order first cited
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = "stop"
    info: dict[str, Any] = field(default_factory=dict)  # backend facts for the trace (model and adapter digests...)
    tool_calls: list[FunctionCall] = field(default_factory=list)  # calls of the caller's tools, returned unexecuted
    escalate: str | None = None  # why the backend will not answer (a reader below its threshold): the gateway
    # then asks the default tier, or declines on the default tier itself


@dataclass(frozen=True)
class BackendContext:
    """What a backend may use of the gateway that builds it."""

    ws: Workspace | None = None
    warm: Callable[[str, str, Callable[[], Any]], Any] | None = None  # (kind, key, load): the gateway's warm cache

    def keep_warm(self, kind: str, key: str, load: Callable[[], Any]) -> Any:
        """`load()` once per (kind, key) for the gateway's lifetime (a loaded model, say), shared by its backends."""
        return self.warm(kind, key, load) if self.warm is not None else load()


class Backend(ABC):
    """Turns a generation request into an answer. Must be thread-safe."""

    name: str = "backend"
    slots: tuple[str, ...] = ()  # deployment slots a request must have for this backend (its model, say)
    supports: frozenset[str] = frozenset()  # of "tools", "response_format": what it honours beyond the messages
    spans_per_chunk: int = 1  # evidence spans of each retrieved chunk the gateway hands it (a reader picks among them)
    # A backend that can wait for its answer on the event loop without blocking it (an HTTP upstream) defines
    # `async def agenerate(request) -> Generation`; the pass-through route then awaits it instead of taking a
    # worker thread. None: generation blocks (a local model), so it runs in a thread.
    agenerate: Callable[[GenerationRequest], Awaitable[Generation]] | None = None

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Generation: ...

    def check(self, request: GenerationRequest) -> None:
        """Refuse, before anything is generated, a request asking for what this backend cannot honour."""
        wanted = request.steering
        if wanted.wants_tools and "tools" not in self.supports:
            raise UnsupportedParameter("tools", self.name)
        if wanted.wants_json and "response_format" not in self.supports:
            raise UnsupportedParameter("response_format", self.name)

    def stream(self, request: GenerationRequest) -> Iterator[str | ToolCallDelta | Generation]:
        """Text deltas (and `ToolCallDelta`s of a call of the caller's tools) as they are produced, then the
        finished `Generation` (the whole text, tool calls, tokens, finish reason) as the last item. Backends
        that can stream natively override this; the default has the whole answer at once, so it sends it so."""
        generation = self.generate(request)
        if generation.text:
            yield generation.text
        for i, c in enumerate(generation.tool_calls):
            yield ToolCallDelta(i, c.arguments, c.id, c.name)
        yield generation

    def close(self) -> None:
        """Release connections or models."""


BUILTINS = tuple(f"loopwright.serving.backends.{m}" for m in ("extractive", "hf", "openai_compat", "reader"))
_BACKENDS: dict[str, Callable[[dict[str, Any], BackendContext], Backend]] = {}


def register_backend(name: str, factory: Callable[[dict[str, Any], BackendContext], Backend]) -> None:
    """Make a backend available to router tiers under `name`; `factory(options, context)` builds one."""
    _BACKENDS[name] = factory


def create_backend(name: str, options: dict[str, Any], context: BackendContext | None = None) -> Backend:
    """A backend of a registered kind: the built-ins, then those of installed `loopwright.backends` plugins."""
    # Built-ins register like any plugin; the hf module defers torch and transformers to first use.
    load_plugins("loopwright.backends", builtins=BUILTINS)
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}", hint=f"registered: {', '.join(sorted(_BACKENDS))}") from None
    return factory(options, context or BackendContext())

