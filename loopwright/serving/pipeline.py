"""The request path: one chat call through every stage of DESIGN.md, each timed onto its trace.

    authenticate -> input policy -> cache -> triage -> retrieval -> route
    -> generate -> tools -> output policy -> record

The bundle (every slot's artifact for this caller) is resolved once, at the
start, so the whole request and its trace see one consistent deployment even
if a release step lands mid-request. Loaded artifacts are kept warm by digest,
so a rollback is a dictionary hit, not a reload.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from loopwright.corpus.retrieval import RetrievalResult, Retriever
from loopwright.corpus.rules import RetrievalRules
from loopwright.digests import utc_now
from loopwright.errors import InvalidInput, LoopwrightError, NotFound
from loopwright.observe.metrics import Metrics
from loopwright.observe.traces import TraceWriter
from loopwright.policy.principal import Principal
from loopwright.registry.artifacts import Artifact, read_file
from loopwright.serving.backends import Backend, Evidence, GenerationRequest, create_backend
from loopwright.serving.bundle import Bundle, DeploymentWatcher, resolve_bundle
from loopwright.serving.cache import cache_key, make_cache
from loopwright.serving.prompts import PromptBundle
from loopwright.serving.router import Router, RouterPolicy

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 32_000


class ModelNotFound(NotFound):
    """The request names a model this deployment does not serve."""


@dataclass
class ChatRequest:
    """A chat call, as the gateway sees it (the HTTP layer validates the wire format)."""

    model: str
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float | None = None
    user: str | None = None


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
    record: dict[str, Any] = field(default_factory=dict)  # the full trace, as queued for the store


@dataclass
class _Trace:
    """The trace under construction; `stage` times a block into `stages`."""

    id: str
    started: float
    record: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str) -> _Timer:
        return _Timer(self.stages, name)


class _Timer:
    def __init__(self, stages: dict[str, float], name: str):
        self.stages, self.name = stages, name

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.stages[self.name] = round(self.stages.get(self.name, 0.0) + (time.perf_counter() - self.t0) * 1e3, 3)


class Gateway:
    """Serves chat calls for one workspace. Thread-safe; one per process."""

    def __init__(self, ws: Workspace, *, as_of: date | None = None, watch: bool = True, poll_s: float = 0.2):
        self.ws = ws
        self.as_of = as_of or ws.settings.serve.as_of
        self.watcher = DeploymentWatcher(ws, poll_s=poll_s)
        self.writer = TraceWriter(ws)
        self.cache = make_cache(ws.settings.cache.redis_url or None)
        self.retriever = Retriever(ws)
        self.metrics = Metrics()
        self._warm: dict[tuple[str, str], Any] = {}
        self._warm_lock = threading.Lock()
        if watch:
            self.watcher.start()

    def close(self) -> None:
        """Stop watching and drain every queued trace to the store."""
        self.watcher.stop()
        self.writer.close()
        for key, value in list(self._warm.items()):
            if key[0] == "backend":
                value.close()

    # -- warm artifacts -------------------------------------------------------------

    def _component(self, kind: str, digest: str, load: Callable[[], Any]) -> Any:
        key = (kind, digest)
        hit = self._warm.get(key)
        if hit is None:
            with self._warm_lock:
                hit = self._warm.get(key)
                if hit is None:
                    hit = self._warm[key] = load()
        return hit

    def router(self, bundle: Bundle) -> Router:
        artifact = self._require(bundle, "router")
        return self._component("router", artifact.digest, lambda: Router(RouterPolicy.from_artifact(self.ws, artifact)))

    def backend(self, bundle: Bundle, tier: str) -> Backend:
        router = self.router(bundle)
        spec = router.policy.tiers[tier]
        digest = f"{self._require(bundle, 'router').digest}:{tier}"
        return self._component("backend", digest, lambda: create_backend(spec.backend, spec.options))

    def prompt(self, bundle: Bundle) -> PromptBundle | None:
        artifact = bundle.get("prompt")
        return self._component("prompt", artifact.digest, lambda: PromptBundle.load(self.ws, artifact)) if artifact else None

    def retrieval_rules(self, bundle: Bundle) -> RetrievalRules:
        artifact = self._require(bundle, "policy")
        return self._component(
            "rules", artifact.digest, lambda: RetrievalRules.from_policy_toml(read_file(self.ws, artifact, "policy.toml"), origin=artifact.ref)
        )

    def triage(self, bundle: Bundle):
        artifact = bundle.get("model:triage")
        if artifact is None:
            return None
        from loopwright.serving.triage import TriageModel

        return self._component("triage", artifact.digest, lambda: TriageModel.load(self.ws, artifact))

    @staticmethod
    def _require(bundle: Bundle, slot: str) -> Artifact:
        artifact = bundle.get(slot)
        if artifact is None:
            raise NotFound(f"nothing is deployed on slot {slot!r}", hint=f"`loopwright deploy set {slot} REF`")
        return artifact

    def models(self) -> list[str]:
        """Model names this deployment answers to (for GET /v1/models)."""
        bundle = resolve_bundle(self.watcher.current, "models")
        policy = self.router(bundle).policy
        if policy.mode == "passthrough":
            return sorted(policy.tiers)
        return [policy.assistant_model]

    # -- the request path -------------------------------------------------------------

    def complete(
        self,
        request: ChatRequest,
        principal: Principal,
        *,
        overrides: dict[str, Artifact] | None = None,
        auth_ms: float = 0.0,
        sync_trace: bool = False,
        purpose: str = "serve",
    ) -> Completion:
        """Run one chat call through the pipeline and queue its trace (or write it now, with `sync_trace`).

        `purpose="golden"` marks an evaluation call: tools are validated but not
        executed, and the trace never counts as traffic in reports or canary analysis.
        """
        trace = _Trace(id="tr_" + uuid.uuid4().hex[:24], started=time.perf_counter())
        trace.stages["auth"] = round(auth_ms, 3)
        caller = principal.subject or principal.key_id or principal.tenant
        bundle = resolve_bundle(self.watcher.current, caller, overrides)
        trace.record.update(
            id=trace.id,
            ts=utc_now(),
            principal=principal.to_dict(),
            channel=bundle.channel,
            deployment_version=bundle.deployment_version,
            bundle=bundle.to_dict()["slots"],
            canary_slots=list(bundle.canary_slots),
            model=request.model,
            purpose=purpose,
            cache={"hit": False},
            policies=[],
            validators=[],
            tools=[],
        )
        try:
            completion = self._run(request, principal, bundle, trace)
        except LoopwrightError as exc:
            trace.record.update(outcome="error", error={"type": type(exc).__name__, "message": exc.message})
            self._finish(trace, tokens=(0, 0), cost=0.0, sync=sync_trace)
            raise
        self._finish(trace, tokens=(completion.tokens_in, completion.tokens_out), cost=trace.record["cost"], sync=sync_trace)
        completion.record = trace.record
        return completion

    def _run(self, request: ChatRequest, principal: Principal, bundle: Bundle, trace: _Trace) -> Completion:
        router = self.router(bundle)
        policy = router.policy
        _check_messages(request.messages)
        if policy.mode == "passthrough":
            return self._passthrough(request, bundle, router, trace)
        if request.model != policy.assistant_model:
            raise ModelNotFound(f"the model {request.model!r} does not exist", hint=f"this gateway serves {policy.assistant_model!r}")

        with trace.stage("input_policy"):
            messages = [dict(m) for m in request.messages]
            question = _last_user_message(messages)
        trace.record["input"] = question

        rules = self.retrieval_rules(bundle)
        context = {
            "bundle": bundle.fingerprint(),
            "tenant": principal.tenant,
            "scopes": list(principal.scopes),
            "access": rules.tenant(principal.tenant).model_dump(mode="json") if principal.tenant in rules.tenants else None,
        }
        key = None
        if policy.cache.enabled:
            with trace.stage("cache"):
                key = cache_key(question, context, normalise_input=policy.cache.normalise)
                cached = self.cache.get(key)
            if cached is not None:
                return self._from_cache(cached, trace, request)

        with trace.stage("triage"):
            triage = self.triage(bundle)
            result = triage.predict([question])[0] if triage is not None else None
        intent = result.intent if result else "unknown"
        confidence = result.confidence if result else 0.0
        top = result.top if result else []
        trace.record["triage"] = {
            "intent": intent,
            "confidence": round(confidence, 4),
            "margin": round(result.margin, 4) if result else 0.0,
            "top": [[name, round(p, 4)] for name, p in top],
            "model": bundle.get("model:triage").ref if bundle.get("model:triage") else None,
        }

        corpus = self._require(bundle, "corpus")
        with trace.stage("retrieval"):
            evidence = self.retriever.search(
                question, commit=corpus.digest, tenant=principal.tenant, rules=rules, k=5, as_of=self.as_of
            )

        needs_tool = intent in policy.routing.tool_intents
        with trace.stage("route"):
            decision = router.decide(
                intent=intent,
                confidence=confidence,
                margin=result.margin if result else 0.0,
                runner_up=top[1][0] if len(top) > 1 else None,
                question=question,
                needs_tool=needs_tool,
            )
        trace.record["route"] = decision.to_dict()

        tier = policy.tiers[decision.tier]
        if tier.options.get("split_parts") and not evidence.decline:
            with trace.stage("retrieval"):
                evidence = self._multi_part(question, evidence, corpus, principal, rules)
        trace.record["retrieval"] = _retrieval_summary(evidence)

        prompt = self.prompt(bundle)
        if evidence.decline:
            text = prompt.decline_message(_language(result)) if prompt else "I can't answer that reliably."
            trace.record["policies"].append({"name": "retrieval.decline", "rule": "decline_if_stale", "reason": evidence.reason})
            trace.record["outcome"] = "declined"
            citations: list[Evidence] = []
            tokens = (0, 0)
        else:
            numbered = [
                Evidence(i, s.doc_id, s.title, s.text, s.start, s.end, s.commit, round(s.score, 4))
                for i, s in enumerate(evidence.spans, 1)
            ]
            with trace.stage("generate"):
                generation = self.backend(bundle, decision.tier).generate(
                    GenerationRequest(
                        question=question,
                        messages=messages,
                        evidence=numbered,
                        prompt=prompt,
                        language=_language(result),
                        max_tokens=request.max_tokens,
                        temperature=request.temperature,
                        model=request.model,
                    )
                )
            text = generation.text
            citations = [e for e in numbered if e.n in generation.citations]
            tokens = (generation.tokens_in, generation.tokens_out)
            trace.record["outcome"] = "answered"

        cost = policy.price_of(decision.tier).cost(*tokens) if not evidence.decline else 0.0
        trace.record.update(
            output=text,
            tier=decision.tier,
            citations=[_citation(e) for e in citations],
            prompt_bundle=prompt.ref if prompt else None,
            cost=round(cost, 8),
            tokens={"in": tokens[0], "out": tokens[1]},
        )
        payload = self._payload(trace, intent, confidence, decision.tier, bundle)
        if key is not None and not trace.record["tools"]:
            self.cache.put(key, {"text": text, "payload": payload, "tokens": list(tokens)})
        return Completion(trace.id, request.model, text, "stop", tokens[0], tokens[1], payload)

    def _multi_part(self, question, evidence: RetrievalResult, corpus, principal, rules) -> RetrievalResult:
        """For a question with several parts, add the best span of each part the first search missed."""
        parts = [p.strip() for p in _split_parts(question) if len(p.split()) >= 3]
        if len(parts) < 2:
            return evidence
        spans = list(evidence.spans)
        seen = {(s.doc_id, s.start) for s in spans}
        for part in parts:
            extra = self.retriever.search(part, commit=corpus.digest, tenant=principal.tenant, rules=rules, k=3, as_of=self.as_of)
            for span in extra.spans[:1]:
                if (span.doc_id, span.start) not in seen:
                    seen.add((span.doc_id, span.start))
                    spans.insert(len(parts), span)
        return replace(evidence, spans=spans)

    def _passthrough(self, request: ChatRequest, bundle: Bundle, router: Router, trace: _Trace) -> Completion:
        policy = router.policy
        if request.model not in policy.tiers:
            raise ModelNotFound(f"the model {request.model!r} does not exist", hint=f"served: {', '.join(sorted(policy.tiers))}")
        with trace.stage("input_policy"):
            messages = [dict(m) for m in request.messages]
        trace.record["input"] = _last_user_message(messages)
        trace.record["route"] = {"tier": request.model, "escalated": False, "reason": "passthrough by model name"}
        with trace.stage("generate"):
            generation = self.backend(bundle, request.model).generate(
                GenerationRequest(
                    question=trace.record["input"],
                    messages=messages,
                    evidence=[],
                    prompt=None,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    model=request.model,
                )
            )
        cost = policy.price_of(request.model).cost(generation.tokens_in, generation.tokens_out)
        trace.record.update(
            output=generation.text,
            tier=request.model,
            outcome="answered",
            citations=[],
            cost=round(cost, 8),
            tokens={"in": generation.tokens_in, "out": generation.tokens_out},
        )
        payload = self._payload(trace, None, None, request.model, bundle)
        return Completion(
            trace.id, request.model, generation.text, generation.finish_reason, generation.tokens_in, generation.tokens_out, payload
        )

    def _from_cache(self, cached: dict[str, Any], trace: _Trace, request: ChatRequest) -> Completion:
        payload = dict(cached["payload"])
        trace.record.update(
            cache={"hit": True, "source_trace": payload.get("trace_id")},
            output=cached["text"],
            triage={"intent": payload.get("intent"), "confidence": payload.get("confidence")},
            route={"tier": payload.get("tier"), "escalated": False, "reason": "cache hit"},
            retrieval=payload.get("retrieval"),
            citations=payload.get("citations", []),
            outcome="declined" if payload.get("declined") else "answered",
            cost=0.0,
            tokens={"in": 0, "out": 0},
        )
        trace.record["policies"] = list(payload.get("policies_fired", []))
        payload.update(trace_id=trace.id, cache_hit=True)
        return Completion(trace.id, request.model, cached["text"], "stop", 0, 0, payload)

    def _payload(self, trace: _Trace, intent, confidence, tier, bundle: Bundle) -> dict[str, Any]:
        record = trace.record
        return {
            "trace_id": trace.id,
            "intent": intent,
            "confidence": round(confidence, 4) if confidence is not None else None,
            "tier": tier,
            "channel": bundle.channel,
            "citations": record.get("citations", []),
            "receipts": [t["receipt"] for t in record["tools"] if t.get("receipt")],
            "policies_fired": record["policies"],
            "validators": record["validators"],
            "retrieval": record.get("retrieval"),
            "declined": record.get("outcome") == "declined",
            "cache_hit": False,
        }

    def _finish(self, trace: _Trace, *, tokens: tuple[int, int], cost: float, sync: bool) -> None:
        latency = round((time.perf_counter() - trace.started) * 1e3 + trace.stages.get("auth", 0.0), 3)
        trace.record.update(stages=trace.stages, latency_ms=latency)
        trace.record.setdefault("cost", cost)
        trace.record.setdefault("tokens", {"in": tokens[0], "out": tokens[1]})
        self.metrics.observe(trace.record)
        self.writer.submit(trace.record)
        if sync:
            self.writer.flush()


def _check_messages(messages: list[dict[str, str]]) -> None:
    if not messages:
        raise InvalidInput("messages must not be empty")
    for m in messages:
        if len(m.get("content") or "") > MAX_MESSAGE_CHARS:
            raise InvalidInput(f"a message is longer than {MAX_MESSAGE_CHARS} characters")


def _last_user_message(messages: list[dict[str, str]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user" and (m.get("content") or "").strip():
            return m["content"]
    raise InvalidInput("no user message with content", hint="the last user message is the question")


_PART = re.compile(r"\?|;|\band also\b|\band\b(?=\s+(?:what|how|when|can|is|are|do|does)\b)")


def _split_parts(question: str) -> list[str]:
    return [p for p in _PART.split(question) if p.strip()]


def _language(result) -> str | None:
    return getattr(result, "language", None)


def _citation(e: Evidence) -> dict[str, Any]:
    return {"n": e.n, "doc_id": e.doc_id, "title": e.title, "commit": e.commit, "start": e.start, "end": e.end, "text": e.text, "score": e.score}


def _retrieval_summary(result: RetrievalResult) -> dict[str, Any]:
    return {
        "commit": result.commit,
        "commit_ref": result.commit_ref,
        "status": result.status,
        "decline": result.decline,
        "reason": result.reason,
        "fingerprint": result.fingerprint,
        "spans": [{"doc_id": s.doc_id, "start": s.start, "end": s.end, "score": round(s.score, 4)} for s in result.spans],
        "stale": [s.doc_id for s in result.stale_evidence],
        "timings_ms": result.timings_ms,
    }
