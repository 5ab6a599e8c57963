"""Tool arguments from a customer's (masked) words, for tiers that do not emit tool calls themselves.

Each tool may register an extractor: text in, arguments out, or None when the
text does not name what the tool needs (the assistant then answers from the
documents and asks for the detail). Extractors only propose: the executor's
validator decides whether the call may run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loopwright.plugins import load_plugins

Extractor = Callable[[str], dict[str, Any] | None]
_EXTRACTORS: dict[str, Extractor] = {}


def argument_extractor(tool: str):
    """Register the decorated function as `tool`'s argument extractor."""

    def register(fn: Extractor) -> Extractor:
        _EXTRACTORS[tool] = fn
        return fn

    return register


def extract_arguments(tool: str, text: str) -> dict[str, Any] | None:
    """Arguments for `tool` found in `text`, or None."""
    from loopwright.tools.contract import BUILTIN_TOOLS

    load_plugins("loopwright.tools", builtins=BUILTIN_TOOLS)  # a plugin registers its extractors with its tools
    fn = _EXTRACTORS.get(tool)
    return fn(text) if fn else None
