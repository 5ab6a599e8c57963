"""The trace: one typed record per inference call, the only shape the gateway writes and its readers read.

Why here, in `serving/`, and not in `observe/`: the request path is the trace's
only writer and sits on a lower floor than every reader (release analysis and
judging, the gateway's metrics, observe's reports and export, the demo), so the record lives
with its writer and the readers import it downwards. Stored rows are this
record's `to_dict()` as JSON; `Trace.from_dict` reads them back, including rows
written before `schema_version` existed (version 1 is the shape they have).

    trace = Trace(id=..., ts=..., principal=..., ...)   # built stage by stage in serving/pipeline.py
    row = trace.to_dict()                               # what the store keeps (fields the call set)
    Trace.from_dict(row).route.escalated                # how analysis, judge, metrics and the demo read it

`to_dict` writes only the fields the call set (pydantic's `exclude_unset`), so a
stored record holds exactly the keys the request path filled in, as before.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
Outcome = Literal["answered", "accepted", "defect", "escalated", "declined", "error"]


class _Record(BaseModel):
    # `ignore`: a row written by a later version (a field this one does not know) still reads.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Caller(_Record):
    """Who made the call, as authenticated."""

    tenant: str = Field(description="The caller's tenant.")
    role: str = Field("", description="customer, agent, admin, app...")
    scopes: list[str] = Field(default_factory=list, description="Retrieval scopes the policy grants the tenant.")
    subject: str | None = Field(None, description="The customer the call acts for, if any.")
    key_id: str = Field("", description="The API key's id (never the key).")


class SlotVersion(_Record):
    """The artifact that served one slot."""

    ref: str = Field(description="kind/name@N")
    digest: str = Field(description="sha256 of the artifact.")


class CacheLookup(_Record):
    """The response cache's answer for this call."""

    hit: bool = Field(False, description="Answered from the cache.")
    source_trace: str | None = Field(None, description="On a hit: the trace that filled the entry.")


class PolicyFired(_Record):
    """A policy that changed what the caller got, and why."""

    name: str = Field(description="e.g. pii.mask, sensitivity.ceiling, retrieval.decline, output.stream_stopped.")
    rule: str = Field(description="The policy rule that fired.")
    reason: str = Field(description="Why, in words.")


class VerdictRecord(_Record):
    """One validator's decision (`loopwright.policy.verdicts.Verdict`)."""

    name: str
    passed: bool
    rule: str
    reason: str
    action: str = Field("allow", description="What a failure does: decline, escalate, summarize...")
    claims: list[str] = Field(default_factory=list, description="Grounding: the claims no cited span states.")


class ToolReceipt(_Record):
    """The signed receipt of a tool action."""

    id: str
    seq: int
    digest: str
    signature: str
    ticket: str | None = None


class ToolCall(_Record):
    """A tool the intent called for, and what became of it."""

    name: str = Field(description="The tool contract's name.")
    status: str = Field(description="executed, dry_run, needs_confirmation, conflict, blocked, skipped, needs_arguments.")
    reason: str | None = Field(
        None, description="Why it did not run (skipped, needs_arguments), or why the model's arguments were set aside."
    )
    arguments_from: str | None = Field(None, description="model (the tier's tool call) or words (the extractors).")
    ticket: str | None = Field(None, description="The executor's ticket id.")
    replayed: bool | None = Field(None, description="An idempotent retry that returned the first result.")
    verdicts: list[VerdictRecord] = Field(default_factory=list, description="The tool's validators.")
    receipt: ToolReceipt | None = Field(None, description="Present when the action ran.")
    confirmation: dict[str, Any] | None = Field(
        None, description="The confirmation asked for (the call it binds to and its expiry); never the token itself."
    )


class ReturnedCall(_Record):
    """A call of one of the caller's own tools that the model made: returned to the caller, never run here."""

    id: str = Field(description="The call's id, as the caller's tool message answers it (tool_call_id).")
    name: str = Field(description="The caller's function.")
    arguments: str = Field(description="The arguments' JSON text, masked as the input policy masks a message.")


class PiiSummary(_Record):
    """What input policy found in the question and did about it (`Masked.to_dict()`: no values)."""

    entities: dict[str, int] = Field(default_factory=dict, description="Entity -> how many were found.")
    applied: list[dict[str, str]] = Field(default_factory=list, description="{entity, action, replacement} per finding.")
    refused: list[str] = Field(default_factory=list, description="Entities the policy refuses outright.")


class TriageRecord(_Record):
    """The intent classifier's answer."""

    intent: str | None = Field(None, description="The predicted intent; `unknown` with no triage deployed.")
    confidence: float | None = Field(None, description="Calibrated probability of `intent`.")
    margin: float = Field(0.0, description="Top probability minus the runner-up's.")
    top: list[tuple[str, float]] = Field(default_factory=list, description="The top intents with probabilities.")
    model: str | None = Field(None, description="The triage artifact's ref.")
    adapter: str | None = Field(None, description="The `adapter:triage` artifact's ref, when one triaged the call.")
    cached: bool = Field(False, description="The question's vector came from a cache, so the encoder did not run.")


class RouteRecord(_Record):
    """Which tier answered and why."""

    tier: str | None = Field(None, description="The tier; None when the call was declined before routing.")
    escalated: bool = Field(False, description="Sent to the large tier (by the router or a failed validator).")
    reason: str = Field("", description="The router's reason.")


class SpanRef(_Record):
    """Where one retrieved span sits (no text: the trace keeps locations of what was read)."""

    doc_id: str
    start: int
    end: int
    score: float


class RetrievalSummary(_Record):
    """What retrieval found for the call (`RetrievalResult` without the texts)."""

    commit: str = Field(description="The corpus commit searched.")
    commit_ref: str = Field("", description="Its ref, corpus/name@N.")
    status: str = Field("ok", description="ok, stale or missing.")
    decline: bool = Field(False, description="Retrieval says decline (stale or no evidence).")
    reason: str = Field("", description="Why, when declining.")
    fingerprint: str = Field("", description="sha256 over the evidence used, in order.")
    spans: list[SpanRef] = Field(default_factory=list, description="The ranked spans.")
    stale: list[str] = Field(default_factory=list, description="Documents of the stale evidence.")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Retrieval's own stage times.")

    @classmethod
    def of(cls, result: Any) -> RetrievalSummary:
        """The summary of a `loopwright.corpus.retrieval.RetrievalResult`."""
        return cls(
            commit=result.commit, commit_ref=result.commit_ref, status=result.status, decline=result.decline,
            reason=result.reason, fingerprint=result.fingerprint,
            spans=[SpanRef(doc_id=s.doc_id, start=s.start, end=s.end, score=round(s.score, 4)) for s in result.spans],
            stale=[s.doc_id for s in result.stale_evidence], timings_ms=result.timings_ms,
        )


class Citation(_Record):
    """A numbered evidence span: what a generator reads as `[n]` and what the answer cites.

    The one evidence shape above retrieval: backends get these in their request,
    the response's `loopwright.citations` and the trace carry them.
    """

    n: int = Field(description="The citation number, [n] in the answer.")
    doc_id: str
    title: str
    commit: str = Field(description="The corpus commit the span is from.")
    start: int = Field(description="Character offset in the document.")
    end: int
    text: str | None = Field(description="document_text[start:end]; None when withheld.")
    score: float = Field(description="Retrieval score, rounded to 4 places.")
    withheld: str | None = Field(None, description="Why `text` is not given (the caller's sensitivity ceiling).")

    @classmethod
    def of(cls, n: int, span: Any) -> Citation:
        """Evidence number `n` from a `loopwright.corpus.retrieval.Span`."""
        return cls(n=n, doc_id=span.doc_id, title=span.title, commit=span.commit, start=span.start, end=span.end,
                   text=span.text, score=round(span.score, 4))


class Tokens(_Record):
    """Tokens read and written by the tier that answered."""

    in_: int = Field(0, alias="in", description="Prompt tokens.")
    out: int = Field(0, description="Completion tokens.")


class ErrorRecord(_Record):
    """Why a call failed (the message is the library's, or `internal error` for a bug)."""

    type: str
    message: str


class StreamRecord(_Record):
    """How a streamed answer went out."""

    chunks: int = Field(0, description="Content chunks released to the caller.")
    stopped: bool = Field(False, description="Output policy ended the stream early.")
    reason: str | None = Field(None, description="Why it stopped: the failed validators.")
    ttft_ms: float | None = Field(None, description="From the call's start to the first released text.")


class Trace(_Record):
    """One inference call: caller, channel, every slot's version, decisions, verdicts, time, tokens, cost, outcome."""

    schema_version: int = Field(SCHEMA_VERSION, description="This record's shape; rows without one are version 1.")
    id: str = Field(description="tr_ + 24 hex digits.")
    ts: str = Field(description="When the call started, ISO-8601 UTC.")
    principal: Caller
    channel: str = Field(description="stable or canary.")
    deployment_version: int = Field(description="The deployment counter the bundle was resolved at.")
    bundle: dict[str, SlotVersion] = Field(default_factory=dict, description="Slot -> the artifact that served it.")
    canary_slots: list[str] = Field(default_factory=list, description="Slots served from the canary channel.")
    flags: dict[str, Any] = Field(default_factory=dict, description="Feature flags on for this caller.")
    model: str = Field(description="The model name the caller asked for.")
    conversation: str | None = Field(
        None, description="The conversation id (`X-Conversation-Id`, `metadata.conversation_id`, or generated); "
        "a conversation is (tenant, owner, id): see `loopwright.serving.conversations`."
    )
    purpose: str = Field("serve", description="serve, or golden (evaluation: never counted as traffic).")
    cache: CacheLookup = Field(default_factory=CacheLookup)
    policies: list[PolicyFired] = Field(default_factory=list, description="Policies fired, in order.")
    validators: list[VerdictRecord] = Field(default_factory=list, description="Output validators' verdicts.")
    tools: list[ToolCall] = Field(default_factory=list, description="Tool calls, with receipts.")
    tool_calls_returned: list[ReturnedCall] = Field(
        default_factory=list, description="Calls of the caller's own tools, returned as tool_calls (not executed)."
    )
    response_format: str | None = Field(None, description="The format asked for: json_object or json_schema.")
    input: str | None = Field(None, description="The question, masked.")
    language: str | None = Field(None, description="The question's language (ISO 639-1), among those the assistant answers in.")
    pii: PiiSummary | None = Field(None, description="Input policy's findings.")
    triage: TriageRecord | None = None
    route: RouteRecord | None = None
    retrieval: RetrievalSummary | None = None
    generation: dict[str, Any] | None = Field(None, description="Backend facts (for hf: model and adapter digests).")
    citations: list[Citation] = Field(default_factory=list, description="What the answer cites, as sent.")
    stream: StreamRecord | None = Field(None, description="Present when the answer was streamed.")
    output: str | None = Field(None, description="The answer as sent (masked, summarised where the ceiling applies).")
    outcome: Outcome = Field("error", description="answered until feedback or a receipt says accepted or defect.")
    decline_reason: str | None = None
    tier: str | None = Field(None, description="The tier that answered.")
    prompt_bundle: str | None = Field(None, description="The prompt artifact's ref.")
    tokens: Tokens = Field(default_factory=Tokens)
    cost: float = Field(0.0, description="USD, from the tier's price.")
    error: ErrorRecord | None = None
    stages: dict[str, float] = Field(default_factory=dict, description="Stage -> milliseconds.")
    latency_ms: float = Field(0.0, description="End to end, authentication included.")
    erased: bool = Field(False, description="The subject's content was erased (input, output, citations, pii).")

    @property
    def intent(self) -> str | None:
        """The triaged intent, if triage ran."""
        return self.triage.intent if self.triage else None

    @property
    def escalated(self) -> bool:
        return bool(self.route and self.route.escalated)

    def fire(self, name: str, rule: str, reason: str) -> None:
        """Record a policy that changed the answer."""
        self.policies.append(PolicyFired(name=name, rule=rule, reason=reason))

    def to_dict(self) -> dict[str, Any]:
        """The stored form: JSON-ready, the fields this call set (plus `schema_version`)."""
        out = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        out["schema_version"] = self.schema_version
        return out

    @classmethod
    def from_dict(cls, record: dict[str, Any] | Trace) -> Trace:
        """A stored record (or a trace already parsed) as a `Trace`."""
        return record if isinstance(record, Trace) else cls.model_validate(record)
