"""The caller's tools and output format, as the request path carries them (OpenAI's `tools`, `tool_choice`,
`parallel_tool_calls`, `response_format`), and the tool calls a backend returns.

Tools the caller supplies are never executed by the gateway: a backend that
calls one returns a `FunctionCall`, and the response carries it back as
`tool_calls` with `finish_reason: "tool_calls"`. Streamed, a call goes out as
`ToolCallDelta`s (its id and name first, then argument fragments), as OpenAI
streams `delta.tool_calls`.

    wanted = Steering(tools=[FunctionTool("get_weather", "...", {...})], tool_choice=ToolChoice("required"))
    wanted.forced_tool()        # the one tool a forced choice leaves (None for auto/none or several tools)
    wanted.key()                # what the cache key must include: the same words with other tools differ
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChoiceMode = Literal["none", "auto", "required", "function"]
FormatType = Literal["text", "json_object", "json_schema"]


@dataclass(frozen=True)
class FunctionTool:
    """A function the caller offers the model: its name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool = False

    def to_openai(self) -> dict[str, Any]:
        fn: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            fn["description"] = self.description
        if self.strict:
            fn["strict"] = True
        return {"type": "function", "function": fn}


@dataclass(frozen=True)
class ToolChoice:
    """`none`, `auto`, `required`, or `function` with the tool's `name`."""

    mode: ChoiceMode = "auto"
    name: str | None = None

    def to_openai(self) -> str | dict[str, Any]:
        return {"type": "function", "function": {"name": self.name}} if self.mode == "function" else self.mode


@dataclass(frozen=True)
class ResponseFormat:
    """`text`, `json_object` (any JSON object), or `json_schema` (an object matching `schema`)."""

    type: FormatType = "text"
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool = False

    @property
    def is_json(self) -> bool:
        return self.type != "text"

    def to_openai(self) -> dict[str, Any]:
        if self.type != "json_schema":
            return {"type": self.type}
        spec: dict[str, Any] = {"name": self.name or "response", "schema": self.schema or {}}
        if self.strict:
            spec["strict"] = True
        return {"type": "json_schema", "json_schema": spec}


@dataclass(frozen=True)
class Steering:
    """What the caller asked of the output beyond the messages: tools to call, and the format of the answer."""

    tools: tuple[FunctionTool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None

    @property
    def choice(self) -> ChoiceMode:
        """The effective choice: OpenAI's default is `auto` with tools and `none` without."""
        if self.tool_choice is not None:
            return self.tool_choice.mode
        return "auto" if self.tools else "none"

    @property
    def wants_tools(self) -> bool:
        """Tools are offered and the model may call them."""
        return bool(self.tools) and self.choice != "none"

    @property
    def wants_json(self) -> bool:
        return self.response_format is not None and self.response_format.is_json

    def forced_tool(self) -> FunctionTool | None:
        """The tool the model must call: the named one, or the only one offered under `required`."""
        if self.choice == "function":
            return next(t for t in self.tools if t.name == self.tool_choice.name)
        if self.choice == "required" and len(self.tools) == 1:
            return self.tools[0]
        return None

    def key(self) -> dict[str, Any] | None:
        """A JSON-ready digest input: answers under other tools or formats are other answers."""
        if not self.tools and not self.wants_json:
            return None
        return {"tools": [t.to_openai() for t in self.tools], "choice": self.tool_choice and asdict(self.tool_choice),
                "parallel": self.parallel_tool_calls, "format": self.response_format and asdict(self.response_format)}


@dataclass(frozen=True)
class FunctionCall:
    """A call of one of the caller's tools, as the model made it; `arguments` is the JSON text."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True)
class ToolCallDelta:
    """One streamed piece of a tool call: the first for an `index` carries its id and name."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index}
        if self.id is not None:
            out["id"], out["type"] = self.id, "function"
        fn: dict[str, Any] = {"arguments": self.arguments}
        if self.name is not None:
            fn["name"] = self.name
        out["function"] = fn
        return out


def call_id() -> str:
    """A fresh tool-call id, in OpenAI's `call_...` form."""
    return "call_" + uuid.uuid4().hex[:24]


def parse_call(text: str, tools: tuple[FunctionTool, ...]) -> FunctionCall | None:
    """`{"name": ..., "arguments": {...}}` naming one of `tools` as a call, else None (the text is an answer)."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("arguments"), dict):
        return None
    if obj.get("name") not in {t.name for t in tools}:
        return None
    return FunctionCall(call_id(), obj["name"], json.dumps(obj["arguments"], ensure_ascii=False))
