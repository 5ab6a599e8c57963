"""The wire schema of the OpenAI chat API, as far as loopwright serves it.

Unknown fields are ignored (clients send many); known ones are validated
strictly: `"stream": "yes"` or `"max_tokens": "5"` is a 400, not a guess, and every
string is `Text` (valid Unicode, see `loopwright.text`). Tool calling and
structured output follow OpenAI's spec: `tools` (functions), `tool_choice`
(`none`, `auto`, `required`, or a named function, which must be among `tools`),
`parallel_tool_calls`, `response_format` (`text`, `json_object`, `json_schema`),
assistant messages with `tool_calls` and `tool` messages answering them by
`tool_call_id`. `steering()` turns them into the request path's types
(`loopwright.serving.tool_calls`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loopwright.text import Text
from loopwright.serving import tool_calls as tc
from loopwright.serving.conversations import InvalidConversationId

# OpenAI's rule for function names.
FunctionName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    type: Text
    text: Text | None = None


class FunctionCallIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: FunctionName
    arguments: Text = Field(max_length=32_000, description="The arguments as JSON text.")


class ToolCallIn(BaseModel):
    """A tool call an earlier assistant turn made (sent back with the conversation)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: Text = Field(min_length=1, max_length=200)
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Text | list[ContentPart] | None = None
    name: Text | None = None
    tool_calls: list[ToolCallIn] | None = Field(None, max_length=128, description="assistant: the calls it made.")
    tool_call_id: Text | None = Field(None, min_length=1, max_length=200, description="tool: the call this answers.")

    @model_validator(mode="after")
    def _tool_fields(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only an assistant message has tool_calls")
        return self

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""

    def to_chat(self) -> dict[str, Any]:
        """The message as the request path carries it: role and text, plus the tool-call fields it has."""
        out: dict[str, Any] = {"role": self.role, "content": self.text()}
        if self.tool_calls:
            out["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class FunctionDef(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: FunctionName
    description: Text | None = Field(None, max_length=8_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}},
                                       description="A JSON schema for the arguments.")
    strict: bool | None = False


class ToolDef(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: FunctionName


class NamedToolChoice(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)
    name: FunctionName
    description: Text | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = False


class ResponseFormatIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormatIn:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type json_schema needs json_schema (name and schema)")
        return self


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    model: Text = Field(min_length=1, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=100_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=100_000)
    temperature: float | None = Field(None, ge=0, le=2)
    n: int = Field(1, ge=1, le=1)
    user: Text | None = Field(None, max_length=200)
    metadata: dict[Text, Text] | None = Field(
        None, max_length=16, description="OpenAI's free-form tags (16 keys at most). loopwright reads `conversation_id`: "
        "the conversation this call belongs to (as the `X-Conversation-Id` header; 1-64 letters, digits, `. _ : -`).",
    )
    tools: list[ToolDef] | None = Field(None, max_length=128, description="Functions the model may call; "
                                        "calls come back as `tool_calls`, the gateway never runs them.")
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None
    confirm_token: Text | None = Field(
        None, min_length=1, max_length=200,
        description="loopwright: confirms the one action a previous answer asked about (its `loopwright.confirmation.token`), "
                    "in the same conversation (`user`). A bare `confirm: true` confirms nothing.",
    )

    @field_validator("messages")
    @classmethod
    def _has_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" and m.text().strip() for m in messages):
            raise ValueError("needs at least one user message with content")
        return messages

    @field_validator("metadata")
    @classmethod
    def _metadata_sizes(cls, metadata: dict[str, str] | None) -> dict[str, str] | None:
        for key, value in (metadata or {}).items():  # OpenAI's limits: keys to 64 characters, values to 512
            if len(key) > 64 or len(value) > 512:
                raise ValueError("metadata keys are at most 64 characters and values at most 512")
        return metadata

    def conversation(self, header: str | None) -> str | None:
        """The conversation id the call names: the `X-Conversation-Id` header or `metadata.conversation_id`, which
        must agree when both are given (the gateway validates the id itself)."""
        given = (self.metadata or {}).get("conversation_id")
        if header is not None and given is not None and header != given:
            raise InvalidConversationId("X-Conversation-Id and metadata.conversation_id name different conversations")
        return header if header is not None else given

    @model_validator(mode="after")
    def _choice_among_tools(self) -> ChatCompletionRequest:
        names = [t.function.name for t in self.tools or []]
        if len(set(names)) != len(names):
            raise ValueError("tools: two functions have the same name")
        if isinstance(self.tool_choice, NamedToolChoice) and self.tool_choice.function.name not in names:
            raise ValueError(f"tool_choice names {self.tool_choice.function.name!r}, which is not among tools")
        if self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools")
        return self

    def steering(self) -> tc.Steering:
        """The tools and output format asked for, as the request path's types."""
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice):
            choice = tc.ToolChoice("function", choice.function.name)
        elif choice is not None:
            choice = tc.ToolChoice(choice)
        fmt = self.response_format
        if fmt is not None:
            spec = fmt.json_schema if fmt.type == "json_schema" else None
            fmt = tc.ResponseFormat(fmt.type, spec.schema_ if spec else None, spec.name if spec else None,
                                    bool(spec and spec.strict))
        return tc.Steering(
            tools=tuple(tc.FunctionTool(t.function.name, t.function.description or "", t.function.parameters,
                                        bool(t.function.strict)) for t in self.tools or []),
            tool_choice=choice,
            parallel_tool_calls=self.parallel_tool_calls is not False,
            response_format=fmt,
        )


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = Field(None, description="Calls of the caller's tools (finish_reason tool_calls).")


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: str = "stop"


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    loopwright: dict[str, Any] = Field(description="Trace id, intent, tier, citations, receipts, policies fired, cache hit.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "loopwright"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
