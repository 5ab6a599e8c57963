"""One chat call as the request path carries it: the request, who asks, the bundle, the policy, the trace,
and what each stage has settled so far (as httpx carries one `Request` through its layers).

The stages in `loopwright.serving.pipeline` read and fill a `Call`; none takes
loose arguments. A stage that settles the answer early (a cache hit, a decline,
a tool's result) sets `call.answer`; the stages after it then pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopwright.errors import InvalidInput
from loopwright.serving.tool_calls import FunctionCall, Steering
from loopwright.serving.trace import Citation, Trace

if TYPE_CHECKING:
    from loopwright.corpus.retrieval import RetrievalResult, Span
    from loopwright.policy.principal import Principal
    from loopwright.policy.schema import PolicySet
    from loopwright.registry.artifacts import Artifact
    from loopwright.serving.bundle import Bundle
    from loopwright.serving.prompts import PromptBundle
    from loopwright.serving.router import RouteDecision, Router


MAX_MESSAGE_CHARS = 32_000


@dataclass
class ChatRequest:
    """A chat call, as the gateway sees it (the HTTP layer validates the wire format)."""

    model: str
    messages: list[dict[str, Any]]  # role and content; an assistant's `tool_calls`, a tool's `tool_call_id`
    max_tokens: int | None = None
    temperature: float | None = None
    user: str | None = None  # also keys the conversation's PII masks
    conversation: str | None = None  # the caller's conversation id (validated in the first stage); None: a new one
    confirm_token: str | None = None  # confirms the one action a previous answer asked about (loopwright.confirmation.token)
    idempotency_key: str | None = None  # a retried action with the same key acts once
    steering: Steering = field(default_factory=Steering)  # the caller's tools and response format


@dataclass
class Completion:
    """The answer and everything the response's `loopwright` object reports."""

    trace_id: str
    model: str
    text: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    loopwright: dict[str, Any]
    trace: Trace | None = None  # the full trace, as queued for the store
    tool_calls: list[FunctionCall] = field(default_factory=list)  # calls of the caller's tools (finish tool_calls)


@dataclass
class Answer:
    """What the call will say: settled by a stage, or generated and checked."""

    text: str
    spans: list[Span] = field(default_factory=list)  # the cited evidence spans, in citation order
    numbers: list[int] = field(default_factory=list)  # each span's [n] in the answer's text; empty: 1, 2, ... in order
    kind: str = "generated"  # generated | declined | cached | tool | tool_calls (the caller's tools, unexecuted)
    finish_reason: str = "stop"
    cacheable: bool = True  # a tool's answer, or one declined before the cache key existed, is not stored
    payload: dict[str, Any] | None = None  # a cache hit's `loopwright` object
    tool_calls: list[FunctionCall] = field(default_factory=list)


@dataclass
class Call:
    """One call through the stages. Fields after `trace` are filled in as the stages run."""

    request: ChatRequest
    principal: Principal
    bundle: Bundle
    trace: Trace
    started: float
    router: Router | None = None  # set by the first stage, with the policy
    policy: PolicySet | None = None
    passthrough: bool = False  # forward by model name: triage, retrieval and tools are off
    prompt: PromptBundle | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # the conversation, masked
    question: str = ""  # the last user message, masked
    refused: tuple[str, ...] = ()  # personal data the input policy refuses
    cache_key: str | None = None
    triaged: Any = None  # loopwright.serving.triage.TriageResult, or None with no triage deployed
    query_vector: Any = None  # the question's embedder vector, made by triage and read by retrieval (np.ndarray)
    intent: str = "unknown"
    corpus: Artifact | None = None
    evidence: RetrievalResult | None = None
    tool: str | None = None  # the intent's tool contract
    decision: RouteDecision | None = None
    tier: str | None = None
    answer: Answer | None = None
    outcome: str | None = None  # set by a stage that knows better than "answered" (a tool's receipt: accepted)
    confirmation: dict[str, Any] | None = None  # a pending action's question, token included: for the response, never the store
    action_output: dict[str, Any] | None = None  # a done tool call's output (a privacy export's link): response only

    @property
    def settled(self) -> bool:
        return self.answer is not None

    @property
    def rp(self):
        """The router policy."""
        return self.router.policy

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the block's wall time to `trace.stages[stage]` (milliseconds; a stage run twice adds up)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            stages = self.trace.stages
            stages[stage] = round(stages.get(stage, 0.0) + (time.perf_counter() - t0) * 1e3, 3)

    def citations(self) -> list[Citation]:
        """The answer's cited spans as numbered citations, each with the number the answer's text gives it."""
        spans = self.answer.spans if self.answer else []
        numbers = self.answer.numbers if self.answer and self.answer.numbers else range(1, len(spans) + 1)
        return [Citation.of(n, s) for n, s in zip(numbers, spans)]


def loopwright_object(t: Trace) -> dict[str, Any]:
    """The response's `loopwright` object, from the trace."""
    return {
        "trace_id": t.id,
        "conversation_id": t.conversation,
        "intent": t.triage.intent if t.triage else None,
        "confidence": t.triage.confidence if t.triage else None,
        "triage_adapter": t.triage.adapter if t.triage else None,
        "tier": t.tier,
        "channel": t.channel,
        "citations": [c.model_dump(mode="json", exclude_unset=True) for c in t.citations],
        "receipts": [tool.receipt.model_dump(mode="json") for tool in t.tools if tool.receipt],
        "tools": [{"name": tool.name, "status": tool.status, "ticket": tool.ticket} for tool in t.tools],
        "policies_fired": [p.model_dump(mode="json") for p in t.policies],
        "validators": [v.model_dump(mode="json") for v in t.validators],
        "retrieval": t.retrieval.model_dump(mode="json") if t.retrieval else None,
        "generation": t.generation,  # backend facts: for `hf`, the model and adapter digests
        "declined": t.outcome == "declined",
        "cache_hit": False,
    }


def check_messages(messages: list[dict[str, Any]]) -> None:
    """Refuse an empty conversation or an oversized message."""
    if not messages:
        raise InvalidInput("messages must not be empty")
    for m in messages:
        if len(m.get("content") or "") > MAX_MESSAGE_CHARS:
            raise InvalidInput(f"a message is longer than {MAX_MESSAGE_CHARS} characters")


def last_user_message(messages: list[dict[str, Any]]) -> str:
    """The question: the last user message with content."""
    for m in reversed(messages):
        if m.get("role") == "user" and (m.get("content") or "").strip():
            return m["content"]
    raise InvalidInput("no user message with content", hint="the last user message is the question")
