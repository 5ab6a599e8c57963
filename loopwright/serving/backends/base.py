"""The backend interface and registry."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopwright.errors import ConfigError, LoopwrightError
from loopwright.plugins import load_plugins
from loopwright.serving.prompts import PromptBundle
from loopwright.serving.trace import Citation

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

_CITATION = re.compile(r"\[(\d{1,2})\]")


class BackendError(LoopwrightError):
    """A backend failed to produce an answer (upstream down, timed out, refused)."""


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
        """The evidence numbers `text` cites as [n]."""
        return sorted({int(n) for n in _CITATION.findall(text) if 0 < int(n) <= len(self.evidence)})


@dataclass
class Generation:
    text: str
    citations: list[int] = field(default_factory=list)  # evidence numbers used
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = "stop"
    info: dict[str, Any] = field(default_factory=dict)  # backend facts for the trace (model and adapter digests...)
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

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Generation: ...

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """Text deltas as they are produced, then the finished `Generation` (the whole text, tokens,
        finish reason) as the last item. Backends that can stream natively override this; the default
        has the whole answer at once, so it sends it as one delta."""
        generation = self.generate(request)
        yield generation.text
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

