"""The wire schema of the OpenAI chat API, as far as loopwright serves it.

Unknown fields are ignored (clients send many); known ones are validated
strictly: `"stream": "yes"` or `"max_tokens": "5"` is a 400, not a guess, and every
string is `Text` (valid Unicode, see `loopwright.server.text`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from loopwright.server.text import Text


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    type: Text
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Text | list[ContentPart] | None = None
    name: Text | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


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


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


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
