"""The backend interface and registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from loopwright.errors import ConfigError, LoopwrightError
from loopwright.serving.prompts import PromptBundle


class BackendError(LoopwrightError):
    """A backend failed to produce an answer (upstream down, timed out, refused)."""


@dataclass(frozen=True)
class Evidence:
    """One numbered evidence span handed to a generator; `n` is its citation number."""

    n: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    commit: str
    score: float


@dataclass
class GenerationRequest:
    question: str  # the masked user question
    messages: list[dict[str, str]]  # the masked conversation, for passthrough and chat backends
    evidence: list[Evidence]
    prompt: PromptBundle | None
    language: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    model: str | None = None


@dataclass
class Generation:
    text: str
    citations: list[int] = field(default_factory=list)  # evidence numbers used
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str = "stop"


class Backend(ABC):
    """Turns a generation request into an answer. Must be thread-safe."""

    name: str = "backend"

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Generation: ...

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Text deltas; backends that can stream natively override this."""
        text = self.generate(request).text
        words = text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "

    def close(self) -> None:
        """Release connections or models."""


_BACKENDS: dict[str, Callable[[dict[str, Any]], Backend]] = {}


def register_backend(name: str, factory: Callable[[dict[str, Any]], Backend]) -> None:
    """Make a backend available to router tiers under `name`; `factory(options)` builds one."""
    _BACKENDS[name] = factory


def create_backend(name: str, options: dict[str, Any]) -> Backend:
    _load_builtins()
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}", hint=f"registered: {', '.join(sorted(_BACKENDS))}") from None
    return factory(options)


def _load_builtins() -> None:
    # Imported for their register_backend calls; deferred so `openai` loads only when used.
    from loopwright.serving.backends import extractive, openai_compat  # noqa: F401
