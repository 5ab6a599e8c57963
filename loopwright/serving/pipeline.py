"""The request path: one chat call through every stage of DESIGN.md, each timed onto its trace.

    authenticate (at the edge) -> admit -> input policy -> cache -> triage -> retrieval -> route
    -> tools -> generate -> output policy -> record

`Gateway._admit`, `Gateway._prepare` and `Gateway._generate` run the stages in that order; each
takes the one `Call` and fills it in. Pass-through mode (forward by model
name) runs the same stages with triage, retrieval and tools switched off.
`complete` runs them all and returns the answer; `stream` runs them up to
generation, then yields the backend's tokens through the output policy's
hold-back window (`loopwright.serving.streaming`).

The bundle (every slot's artifact for this caller) is resolved once, at the
start, so the whole request and its trace see one consistent deployment even
if a release step lands mid-request. Loaded artifacts are kept warm by digest,
so a rollback is a dictionary hit, not a reload.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import anyio

from loopwright.corpus.retrieval import RetrievalResult, Retriever
from loopwright.digests import canonical_json, utc_now
from loopwright.errors import InvalidInput, LoopwrightError, NotFound
from loopwright.language import detect_language
from loopwright.serving.metrics import Metrics
from loopwright.serving.trace_store import TraceWriter
from loopwright.policy.pii import PiiVault, conversation_secret, mask_text, pii_key
from loopwright.policy.principal import Principal
from loopwright.policy.validators import docs_of
from loopwright.registry.artifacts import Artifact
from loopwright.serving.backends import Generation, GenerationRequest
from loopwright.serving.bundle import resolve_bundle
from loopwright.serving.cache import cache_key
from loopwright.serving.actions import act
from loopwright.serving.call import Answer, Call, ChatRequest, Completion, check_messages, last_user_message, loopwright_object
from loopwright.serving.components import Components, NotDeployed
from loopwright.serving.conversations import check_conversation_id, new_conversation_id
from loopwright.serving.output_policy import OutputPolicy
from loopwright.serving.streaming import Stream
from loopwright.serving.tokens import count_tokens
from loopwright.serving.triage import AdaptedTriage
from loopwright.serving.trace import (
    CacheLookup, Caller, Citation, ErrorRecord, PiiSummary, PolicyFired, RetrievalSummary, ReturnedCall, RouteRecord,
    SlotVersion, Tokens, Trace, TriageRecord, VerdictRecord,
)

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

__all__ = ["ChatRequest", "Completion", "Gateway", "ModelNotFound", "NotDeployed", "Stream"]

log = logging.getLogger(__name__)
EVIDENCE_K = 5  # chunks retrieved as a question's evidence

class ModelNotFound(NotFound):
    """The request names a model this deployment does not serve."""


def stage(*, passthrough: bool = True):
    """A request-path stage: it passes once the answer is settled, and in pass-through mode unless `passthrough`."""

    def wrap(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def run(self: Gateway, call: Call, **kwargs: Any) -> None:
            if not call.settled and (passthrough or not call.passthrough):
                fn(self, call, **kwargs)

        return run

    return wrap


class Gateway(Components):
    """Serves chat calls for one workspace. Thread-safe; one per process."""

    def __init__(self, ws: Workspace, *, as_of: date | None = None, watch: bool = True, poll_s: float = 0.2):
        super().__init__(ws, watch=watch, poll_s=poll_s)
        self.as_of = as_of or ws.settings.serve.as_of
        self.writer = TraceWriter(ws)
        self.retriever = Retriever(ws)
        self.metrics = Metrics()
        self.sinks: list[Callable[[Trace], None]] = []  # told of every finished trace; must not block (OTel export)
        self._pii_key = pii_key(ws)

    def close(self) -> None:
        """Stop watching, drain every queued trace to the store, release loaded models."""
        self.watcher.stop()
        self.writer.close()
        self.release_warm()

    # -- entry points -----------------------------------------------------------------

    def complete(self, request: ChatRequest, principal: Principal, *, overrides: dict[str, Artifact] | None = None,
                 auth_ms: float = 0.0, sync_trace: bool = False, purpose: str = "serve") -> Completion:
        """Run one chat call through the pipeline and queue its trace (or write it now, with `sync_trace`).

        `purpose="golden"` marks an evaluation call: tools are validated but not
        executed, and the trace never counts as traffic in reports or canary analysis.
        """
        call = self._open(request, principal, overrides, auth_ms, purpose)
        with self._recorded(call, sync_trace):
            self._admit(call)
            return self._answer(call)

    async def acomplete(self, request: ChatRequest, principal: Principal, *, auth_ms: float = 0.0) -> Completion:
        """`complete`, for a server's event loop. A pass-through call to a backend that can wait on the loop
        (`Backend.agenerate`: an HTTP upstream) runs here: besides generation its stages are CPU only and
        short (masking, a cache lookup, the trace queued), and a hop to a worker thread and back cost more
        than they do (bench/README.md, the profile). Every other call runs in a worker thread, as `complete`."""
        call = self._open(request, principal, None, auth_ms, "serve")
        with self._recorded(call, False):
            self._admit(call)
            backend = self.backend(call.bundle, call.request.model) if call.passthrough else None
            if backend is None or backend.agenerate is None:
                return await anyio.to_thread.run_sync(self._answer, call)
            self._prepare(call)
            first = None
            if not call.settled:  # else a cache hit (or a declined input) answers without the upstream
                with call.timed("generate"):
                    first = await backend.agenerate(self.generation_request(call))
            self._generate(call, first=first)
            return self._respond(call)

    def _answer(self, call: Call) -> Completion:
        """The admitted call's remaining stages, generation included, and its response."""
        self._prepare(call)
        self._generate(call)
        return self._respond(call)

    def stream(self, request: ChatRequest, principal: Principal, *, overrides: dict[str, Artifact] | None = None,
               auth_ms: float = 0.0, purpose: str = "serve") -> Stream:
        """Run the stages up to generation now (so a bad request fails before any byte is sent), then return a
        `Stream`: iterate it for text as the backend produces it and output policy releases it; its `completion`
        is set, and the trace queued, when the iteration ends."""
        call = self._open(request, principal, overrides, auth_ms, purpose)
        with self._recorded(call, False, finish=False):
            self._admit(call)
            self._prepare(call)
        return Stream(self, call).start()

    # -- the stages, in order -----------------------------------------------------------

    def _prepare(self, call: Call) -> None:
        """Every stage before generation, after `_admit` (the model is served here; the messages are sane). Each
        fills `call` in; one that settles the answer ends the rest."""
        self._input_policy(call)  # personal data masked; a kind the policy refuses declines
        self._confirmed(call)     # a confirm token runs the one call it was issued for (no triage, no cache)
        self._cache(call)         # a hit answers now
        self._triage(call)        # intent and calibrated confidence          (off in pass-through)
        self._retrieve(call)      # evidence spans from the live corpus commit (off in pass-through)
        self._route(call)         # which tier answers; its backend can honour the caller's tools and format
        self._tools(call)         # an action intent calls its tool contract  (off in pass-through)

    def _open(self, request, principal, overrides, auth_ms, purpose) -> Call:
        """The call object: the bundle resolved once for this caller, the trace started."""
        started = time.perf_counter()
        caller = principal.subject or principal.key_id or principal.tenant
        bundle = resolve_bundle(self.watcher.current, caller, overrides)
        try:  # an invalid id is refused by `_admit`; its error trace never stores the text as sent
            conversation = check_conversation_id(request.conversation) or new_conversation_id()
        except InvalidInput:
            conversation = None
        trace = Trace(
            id="tr_" + uuid.uuid4().hex[:24], ts=utc_now(), principal=Caller(**principal.to_dict()),
            channel=bundle.channel, deployment_version=bundle.deployment_version,
            bundle={slot: SlotVersion(**v) for slot, v in bundle.to_dict()["slots"].items()},
            canary_slots=list(bundle.canary_slots), flags=dict(bundle.flags), model=request.model, purpose=purpose,
            conversation=conversation,
            cache=CacheLookup(hit=False), policies=[], validators=[], tools=[], stages={"auth": round(auth_ms, 3)},
        )
        return Call(request, principal, bundle, trace, started)

    @stage()
    def _admit(self, call: Call) -> None:
        call.router = self.router(call.bundle)
        rp = call.rp
        check_conversation_id(call.request.conversation)
        check_messages(call.request.messages)
        call.policy = self.policy(call.bundle)
        call.passthrough = rp.mode == "passthrough"
        model = call.request.model
        if call.passthrough and model not in rp.tiers:
            raise ModelNotFound(f"the model {model!r} does not exist", hint=f"served: {', '.join(sorted(rp.tiers))}")
        if not call.passthrough and model != rp.assistant_model:
            raise ModelNotFound(f"the model {model!r} does not exist", hint=f"this gateway serves {rp.assistant_model!r}")

    @stage()
    def _input_policy(self, call: Call) -> None:
        """Mask personal data in every message with one vault, so a value keeps its mask across turns."""
        with call.timed("input_policy"):
            vault = PiiVault(conversation_secret(self._pii_key, call.request.user or call.trace.id))
            masked = None
            for m in call.request.messages:
                done = mask_text(m.get("content") or "", call.policy.pii, vault, hash_key=self._pii_key)
                call.messages.append({**m, "content": done.text})
                if m.get("role") == "user" and (m.get("content") or "").strip():
                    masked = done  # the last user message: the question
            if masked is None:
                raise InvalidInput("no user message with content", hint="the last user message is the question")
            call.question = last_user_message(call.messages)
        t = call.trace
        t.pii = PiiSummary(**masked.to_dict())
        if masked.findings:
            t.fire("pii.mask", "pii.actions", f"masked {', '.join(sorted(t.pii.entities))}")
        t.input = call.question
        if call.passthrough:
            return
        call.prompt = self.prompt(call.bundle)
        if masked.refused:
            reason = f"personal data the policy refuses: {', '.join(masked.refused)}"
            t.fire("pii.refuse", "pii.actions", reason)
            self._decline(call, reason, cacheable=False)

    @stage(passthrough=False)
    def _confirmed(self, call: Call) -> None:
        """A confirmation binds to the action it was issued for, never to a fresh classification."""
        if not call.request.confirm_token:
            return
        call.tier = call.rp.routing.default_tier
        call.trace.route = RouteRecord(tier=call.tier, escalated=False, reason="confirmation of a pending action")
        with call.timed("tools"):
            text = act(self.ws, call)
        call.answer = Answer(text, kind="tool", cacheable=False)

    @stage()
    def _cache(self, call: Call) -> None:
        if not call.rp.cache.enabled:
            return
        with call.timed("cache"):
            context = self._cache_context(call)
            if call.passthrough:  # the whole conversation, as sent, is the question
                call.cache_key = cache_key(canonical_json(call.messages), {**context, "model": call.request.model},
                                           normalise_input=False)
            else:
                call.cache_key = cache_key(call.question, context, normalise_input=call.rp.cache.normalise)
            cached = self.cache.get(call.cache_key)
        if cached is not None:
            self._from_cache(call, cached)

    @stage(passthrough=False)
    def _triage(self, call: Call) -> None:
        with call.timed("triage"):
            triage = self.triage(call.bundle)
            triaged = triage.triage_one(call.question) if triage is not None else None
        result = triaged.result if triaged else None
        call.triaged, call.intent = result, result.intent if result else "unknown"
        call.query_vector = triaged.query_vector if triaged else None  # retrieval's query embedding, made once
        # Among the languages the assistant answers in (its decline messages): per-language quality needs it.
        call.trace.language = detect_language(call.question, call.prompt.decline if call.prompt else ("en",))
        model = call.bundle.get("model:triage")
        call.trace.triage = TriageRecord(
            intent=call.intent,
            confidence=round(result.confidence, 4) if result else 0.0,
            margin=round(result.margin, 4) if result else 0.0,
            top=[(name, round(p, 4)) for name, p in result.top] if result else [],
            model=model.ref if model else None,
            adapter=triage.artifact.ref if isinstance(triage, AdaptedTriage) else None,
            cached=triaged.cached if triaged else False,
        )
        reason = call.router.out_of_scope(call.intent, result.confidence if result else 0.0, call.principal.role)
        if reason is not None:
            call.trace.route = RouteRecord(tier=None, escalated=False, reason=reason)
            call.trace.fire("router.out_of_scope", "routing.out_of_scope_intents", reason)
            self._decline(call, reason)

    @stage(passthrough=False)
    def _retrieve(self, call: Call) -> None:
        call.corpus = self.require(call.bundle, "corpus")
        with call.timed("retrieval"):
            call.evidence = self._search(call, call.question, k=EVIDENCE_K)

    @stage()
    def _route(self, call: Call) -> None:
        if call.passthrough:
            call.tier = call.request.model
            call.trace.route = RouteRecord(tier=call.tier, escalated=False, reason="passthrough by model name")
            self._honoured(call)
            return
        r = call.triaged
        call.tool = call.rp.routing.tool_intents.get(call.intent)
        with call.timed("route"):
            call.decision = call.router.decide(
                intent=call.intent, confidence=r.confidence if r else 0.0, margin=r.margin if r else 0.0,
                runner_up=r.top[1][0] if r and len(r.top) > 1 else None, question=call.question,
                needs_tool=call.tool is not None, flags=call.bundle.flags,
            )
        call.tier = call.decision.tier
        call.trace.route = RouteRecord(**call.decision.to_dict())
        backend = self._tier_backend(call)
        if call.rp.tiers[call.tier].options.get("split_parts") and not call.evidence.decline:
            with call.timed("retrieval"):
                call.evidence = self._multi_part(call)
        elif backend is not None and backend.spans_per_chunk > 1 and not call.evidence.decline:
            with call.timed("retrieval"):  # the question's vector is cached: this search costs its ranking only
                call.evidence = self._search(call, call.question, k=EVIDENCE_K, spans_per_chunk=backend.spans_per_chunk)
        call.trace.retrieval = RetrievalSummary.of(call.evidence)
        self._honoured(call)

    def _honoured(self, call: Call) -> None:
        """A 400 naming the parameter when the tier's backend cannot honour the caller's tools or response format,
        before any tool runs or any token is generated."""
        wanted = call.request.steering
        if wanted.response_format is not None and wanted.wants_json:
            call.trace.response_format = wanted.response_format.type
        if wanted.wants_tools or wanted.wants_json:
            self.backend(call.bundle, call.tier).check(self.generation_request(call))

    def _tier_backend(self, call: Call):
        """The tier's backend, or None when a slot it needs is not deployed (a tool then takes the words' arguments)."""
        try:
            return self.backend(call.bundle, call.tier)
        except NotDeployed:
            return None

    @stage(passthrough=False)
    def _tools(self, call: Call) -> None:
        if call.tool is not None:
            with call.timed("tools"):
                text = act(self.ws, call, self._tier_backend(call))
            if text is not None:
                call.answer = Answer(text, kind="tool", cacheable=False)
                return
        if call.evidence.decline:
            call.trace.fire("retrieval.decline", "decline_if_stale", call.evidence.reason)
            self._decline(call, call.evidence.reason)

    @stage()
    def _generate(self, call: Call, first: Generation | None = None) -> None:
        """The tier's backend answers (or `first`, an answer already generated) and output policy checks it; a
        failure the policy escalates is tried once more on the default tier, one it sends to the fallback is
        answered by the router's fallback tier (each tier at most once), one it declines declines."""
        tier = call.tier
        tried = {tier}
        check = self.output_policy(call)
        request = self.generation_request(call)
        while True:
            if first is not None:
                generation, first = first, None
            else:
                with call.timed("generate"):
                    generation = self.backend(call.bundle, tier).generate(request)
            self._generated(call, generation)
            if generation.tool_calls:  # the caller's tools, called: they go back to the caller, unexecuted
                self._returned(call, generation)
                return
            if generation.escalate is not None:  # the backend will not answer (a reader below its threshold)
                if not call.passthrough and call.rp.routing.default_tier not in tried:
                    tier = self._escalate(call, generation.escalate)
                    tried.add(tier)
                    continue
                call.trace.fire("generation.decline", call.rp.tiers[tier].backend, generation.escalate)
                self._decline(call, generation.escalate)
                return
            numbers = self.cited_numbers(request, generation)
            spans = self.cited(call, numbers)
            with call.timed("output_policy"):
                action, text = check.apply(generation.text, spans)
            if action == "escalate" and call.rp.routing.default_tier not in tried:
                tier = call.rp.routing.default_tier
                call.trace.route = RouteRecord(tier=tier, escalated=True,
                                               reason=f"{call.decision.reason}; output validator failed on the {call.tier} tier")
                call.tier = tier
                tried.add(tier)
                continue
            fallback = call.rp.routing.fallback_tier
            if action == "fallback" and fallback is not None and fallback not in tried:
                failing = [v for v in call.trace.validators if not v.passed and v.action == "fallback"]
                call.trace.fire("output.fallback", ", ".join(v.rule for v in failing),
                                f"the {tier} tier's answer failed ({'; '.join(v.reason for v in failing)}): "
                                f"answered by the {fallback} tier")
                call.trace.route = RouteRecord(tier=fallback, escalated=False,
                                               reason=f"{call.decision.reason}; output validator failed on the {tier} tier")
                tier = call.tier = fallback
                tried.add(tier)
                continue
            if action == "fallback" and fallback in tried and call.rp.routing.default_tier not in tried:
                # The fallback tier's own answer failed (the reader's sentence on the small tier): the default
                # tier answers, as it would have had the router escalated.
                call.trace.fire("output.escalate", "routing.fallback_tier", f"the {tier} tier is the fallback tier "
                                f"and its answer failed: answered by the {call.rp.routing.default_tier} tier")
                tier = call.tier = call.rp.routing.default_tier
                call.trace.route = RouteRecord(tier=tier, escalated=True,
                                               reason=f"{call.decision.reason}; output validator failed on the fallback tier")
                tried.add(tier)
                continue
            break
        if action in ("decline", "escalate", "fallback"):
            self._refuse_output(call, "decline" if action == "fallback" else action)
            return
        finish = generation.finish_reason if call.passthrough or call.request.steering.wants_json else "stop"
        call.answer = Answer(text, spans, numbers, finish_reason=finish)

    def _returned(self, call: Call, generation: Generation) -> None:
        """Settle the answer as the calls of the caller's tools the model made: finish_reason `tool_calls`, any
        text beside them masked, and the calls recorded on the trace (arguments masked)."""
        text, _ = self.output_policy(call).mask(generation.text) if generation.text else ("", 0)
        finish = "length" if generation.finish_reason == "length" else "tool_calls"  # cut short: arguments may be partial
        call.answer = Answer(text, kind="tool_calls", finish_reason=finish, cacheable=False,
                             tool_calls=list(generation.tool_calls))
        vault = PiiVault(conversation_secret(self._pii_key, call.request.user or call.trace.id))
        call.trace.tool_calls_returned = [
            ReturnedCall(id=c.id, name=c.name, arguments=mask_text(c.arguments, call.policy.pii, vault, hash_key=self._pii_key).text)
            for c in generation.tool_calls
        ]

    def _escalate(self, call: Call, why: str) -> str:
        """Move the call to the default tier because its backend would not answer; returns that tier."""
        tier = call.rp.routing.default_tier
        call.trace.fire("generation.escalate", call.rp.tiers[call.tier].backend, why)
        call.trace.route = RouteRecord(tier=tier, escalated=True, reason=f"{call.decision.reason}; {why} on the {call.tier} tier")
        call.tier = tier
        return tier

    def _respond(self, call: Call) -> Completion:
        """Record the answer on the trace, build the response's `loopwright` object, fill the cache."""
        a, t = call.answer, call.trace
        if a.kind == "cached":
            payload = {**a.payload, "trace_id": t.id, "conversation_id": t.conversation, "cache_hit": True, "channel": t.channel}
            return Completion(t.id, call.request.model, a.text, "stop", 0, 0, payload, t)
        if a.kind == "declined":
            t.output, t.cost, t.tokens = a.text, 0.0, Tokens(in_=0, out=0)
        else:
            tokens = t.tokens
            if not tokens.in_:  # a tool answer: what the tier read (the question) and wrote
                tokens = Tokens(in_=count_tokens(call.question) + 4, out=count_tokens(a.text))
            prompt = call.bundle.get("prompt")
            t.output, t.tier, t.tokens = a.text, call.tier, tokens
            t.outcome = call.outcome or "answered"
            t.prompt_bundle = prompt.ref if prompt else None
            t.cost = round(call.rp.price_of(call.tier).cost(tokens.in_, tokens.out), 8)
        cited = call.citations()
        t.citations = self.output_policy(call).within_ceiling(cited) if cited else []
        payload = loopwright_object(t)
        payload["confirmation"] = call.confirmation  # the action waiting for the customer's yes, with its token
        payload["action"] = call.action_output  # what the action did (a data export's signed link among it)
        if t.outcome == "escalated":  # declined on the way, then marked escalated: the caller was declined
            payload["declined"] = True
        if call.cache_key is not None and a.cacheable and not t.tools:
            shared = {k: v for k, v in payload.items() if k != "conversation_id"}  # a hit may serve another customer
            self.cache.put(call.cache_key, {"text": a.text, "payload": shared, "tokens": [t.tokens.in_, t.tokens.out]})
        return Completion(t.id, call.request.model, a.text, a.finish_reason, t.tokens.in_, t.tokens.out, payload, t,
                          tool_calls=a.tool_calls)

    @contextmanager
    def _recorded(self, call: Call, sync: bool, *, finish: bool = True) -> Iterator[None]:
        """Record the call's trace when the block ends (or only when it fails, with `finish=False`)."""
        try:
            yield
        except LoopwrightError as exc:
            self._failed(call, type(exc).__name__, exc.message)
            self.record(call, sync=sync)
            raise
        except asyncio.CancelledError:  # on the event loop: the server cancelled the call (shutdown); still a trace
            self._failed(call, "Cancelled", "the call was cancelled before it was answered")
            self.record(call, sync=sync)
            raise
        except Exception as exc:  # a bug: still leave a trace of the call, then let the server answer 500
            log.exception("request %s failed", call.trace.id)
            self._failed(call, type(exc).__name__, "internal error")
            self.record(call, sync=sync)
            raise
        if finish:
            self.record(call, sync=sync)

    def _failed(self, call: Call, kind: str, message: str) -> None:
        """An error trace: the request fields and the message it echoes masked as the input policy masks a
        message (the call failed before, or instead of, masking its input)."""
        try:
            rules = (call.policy or self.policy(call.bundle)).pii
        except LoopwrightError:  # no policy deployed: the default rules
            rules = None
        vault = PiiVault(conversation_secret(self._pii_key, call.trace.id))
        t = call.trace
        t.outcome, t.model = "error", mask_text(call.request.model, rules, vault, hash_key=self._pii_key).text
        t.error = ErrorRecord(type=kind, message=mask_text(message, rules, vault, hash_key=self._pii_key).text)

    def record(self, call: Call, *, sync: bool = False) -> None:
        """The last stage: latency onto the trace, metrics observed, the trace queued for the store."""
        t = call.trace
        t.latency_ms = round((time.perf_counter() - call.started) * 1e3 + t.stages.get("auth", 0.0), 3)
        if "cost" not in t.model_fields_set:
            t.cost = 0.0
        if "tokens" not in t.model_fields_set:
            t.tokens = Tokens(in_=0, out=0)
        self.metrics.observe(t)
        self.writer.submit(t.to_dict())
        for sink in self.sinks:
            sink(t)
        if sync:
            self.writer.flush()

    # -- what the stages share (also used by `Stream`) ------------------------------------

    def generation_request(self, call: Call) -> GenerationRequest:
        """What the tier's backend is asked: the masked conversation and, in governed mode, the numbered evidence."""
        evidence = [Citation.of(n, s) for n, s in enumerate(call.evidence.spans, 1)] if call.evidence else []
        r = call.request
        contexts = [s.context for s in call.evidence.spans] if call.evidence else []
        return GenerationRequest(question=call.question, messages=call.messages, evidence=evidence, prompt=call.prompt,
                                 max_tokens=r.max_tokens, temperature=r.temperature, model=r.model,
                                 artifacts=call.bundle.artifacts, steering=r.steering, contexts=contexts)

    @staticmethod
    def cited_numbers(request: GenerationRequest, generation: Generation) -> list[int]:
        """The evidence numbers a generated answer cites: parsed from its text ([n], [n, m]), which is what the
        caller reads, so a model's own citation list is not trusted over it; a backend whose text carries no
        marks may list them (`Generation.citations`)."""
        return request.cited(generation.text) or [n for n in generation.citations if 0 < n <= len(request.evidence)]

    def cited(self, call: Call, numbers: list[int]) -> list:
        """The evidence spans an answer cites as [n]."""
        spans = call.evidence.spans if call.evidence else []
        return [spans[n - 1] for n in numbers if 0 < n <= len(spans)]

    def output_policy(self, call: Call) -> OutputPolicy:
        if call.passthrough:
            return OutputPolicy(call, documents={}, live_commit=None, pii_key=self._pii_key)
        commit = self.retriever.commit(call.corpus.digest)
        documents = self.keep_warm("documents", commit.digest, lambda: docs_of(commit))
        return OutputPolicy(call, documents=documents, live_commit=commit.digest, pii_key=self._pii_key)

    def _generated(self, call: Call, generation: Generation) -> None:
        call.trace.tokens = Tokens(in_=generation.tokens_in, out=generation.tokens_out)
        if generation.info:
            call.trace.generation = generation.info

    def _refuse_output(self, call: Call, action: str) -> None:
        why = "; ".join(v.reason for v in call.trace.validators if not v.passed)
        call.trace.fire(f"output.{action}", "validators", why)
        self._decline(call, why, cacheable=False)
        if action == "escalate":
            call.trace.outcome = "escalated"

    def _decline(self, call: Call, reason: str, *, cacheable: bool = True) -> None:
        prompt = call.prompt
        language = call.trace.language or (detect_language(call.question, prompt.decline) if prompt else "en")
        text = prompt.decline_message(language) if prompt else "I can't answer that reliably."
        t = call.trace
        t.outcome, t.decline_reason = "declined", reason
        t.tier = t.route.tier if t.route else None
        call.answer = Answer(text, kind="declined", cacheable=cacheable)

    def _from_cache(self, call: Call, cached: dict[str, Any]) -> None:
        payload = dict(cached["payload"])
        t = call.trace
        t.cache = CacheLookup(hit=True, source_trace=payload.get("trace_id"))
        t.output = cached["text"]
        t.triage = TriageRecord(intent=payload.get("intent"), confidence=payload.get("confidence"))
        t.route = RouteRecord(tier=payload.get("tier"), escalated=False, reason="cache hit")
        t.tier = payload.get("tier")
        t.retrieval = RetrievalSummary.model_validate(payload["retrieval"]) if payload.get("retrieval") else None
        t.citations = [Citation.model_validate(c) for c in payload.get("citations", [])]
        t.validators = [VerdictRecord.model_validate(v) for v in payload.get("validators", [])]
        t.outcome = "declined" if payload.get("declined") else "answered"
        t.cost, t.tokens = 0.0, Tokens(in_=0, out=0)
        t.policies = [PolicyFired.model_validate(p) for p in payload.get("policies_fired", [])]
        call.answer = Answer(cached["text"], kind="cached", payload=payload)

    def _search(self, call: Call, query: str, *, k: int, spans_per_chunk: int = 1) -> RetrievalResult:
        return self.retriever.search(query, commit=call.corpus.digest, tenant=call.principal.tenant,
                                     rules=call.policy.retrieval, k=k, as_of=self.as_of, spans_per_chunk=spans_per_chunk,
                                     language=call.trace.language if call.policy.retrieval.prefer_question_language else None,
                                     query_vector=call.query_vector if query == call.question else None)

    def _multi_part(self, call: Call) -> RetrievalResult:
        """For a question with several parts, add the best span of each part the first search missed."""
        parts = [p.strip() for p in _split_parts(call.question) if len(p.split()) >= 3]
        if len(parts) < 2:
            return call.evidence
        spans = list(call.evidence.spans)
        seen = {(s.doc_id, s.start) for s in spans}
        for part in parts:
            for span in self._search(call, part, k=3).spans[:1]:
                if (span.doc_id, span.start) not in seen:
                    seen.add((span.doc_id, span.start))
                    spans.insert(len(parts), span)
        return replace(call.evidence, spans=spans)

    def _cache_context(self, call: Call) -> dict[str, Any]:
        """Everything besides the question that could change the answer: the cache-key salt."""
        rules, principal = call.policy.retrieval, call.principal
        context = {
            "bundle": call.bundle.fingerprint(),
            "flags": dict(sorted(call.bundle.flags.items())),
            "tenant": principal.tenant,
            "role": principal.role,
            "scopes": list(principal.scopes),
            "access": rules.tenants[principal.tenant].model_dump(mode="json") if principal.tenant in rules.tenants else None,
            "ceiling": call.policy.sensitivity.ceiling_for(principal),
        }
        if (steering := call.request.steering.key()) is not None:  # other tools or another format: another answer
            context["steering"] = steering
        return context


_PART = re.compile(r"\?|;|\band also\b|\band\b(?=\s+(?:what|how|when|can|is|are|do|does)\b)")


def _split_parts(question: str) -> list[str]:
    return [p for p in _PART.split(question) if p.strip()]

