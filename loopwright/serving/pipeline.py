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

from loopwright.corpus.retrieval import RetrievalResult, Retriever, Span
from loopwright.digests import canonical_json, utc_now
from loopwright.errors import InvalidInput, LoopwrightError, NotFound
from loopwright.observe.metrics import Metrics
from loopwright.observe.traces import TraceWriter
from loopwright.policy.pii import PiiVault, conversation_secret, mask_text, pii_key, scan
from loopwright.policy.principal import Principal
from loopwright.policy.schema import PolicySet, policy_from_artifact
from loopwright.policy.validators import OutputContext, decide, docs_of, run_output_validators, summarize_above_ceiling
from loopwright.registry.artifacts import Artifact
from loopwright.serving.backends import Backend, BackendContext, Evidence, GenerationRequest, create_backend
from loopwright.serving.bundle import Bundle, DeploymentWatcher, resolve_bundle, stable_bundle
from loopwright.serving.cache import cache_key, make_cache
from loopwright.serving.prompts import PromptBundle
from loopwright.serving.router import Router, RouterPolicy
from loopwright.serving.tokens import count_tokens
from loopwright.tools.arguments import extract_arguments
from loopwright.tools.executor import execute_tool

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 32_000


class ModelNotFound(NotFound):
    """The request names a model this deployment does not serve."""


class NotDeployed(LoopwrightError):
    """A slot the request path needs has nothing deployed: the server is misconfigured, not the request."""


@dataclass
class ChatRequest:
    """A chat call, as the gateway sees it (the HTTP layer validates the wire format)."""

    model: str
    messages: list[dict[str, str]]
    max_tokens: int | None = None
    temperature: float | None = None
    user: str | None = None  # also keys the conversation's PII masks
    confirm: bool = False  # the user confirmed the action a previous turn asked about
    idempotency_key: str | None = None  # a retried action with the same key acts once


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
        self._pii_key = pii_key(ws)
        self._warm: dict[tuple[str, str], Any] = {}
        self._warm_lock = threading.Lock()
        if watch:
            self.watcher.start()

    def warm_up(self) -> None:
        """Load what the live stable deployment needs (router, policy and its PII recognisers, prompt,
        triage, corpus index, backends), so the first request does not pay for it. Best effort: a
        slot that cannot load is logged and then reported by the requests that need it."""
        bundle = stable_bundle(self.watcher.current)
        steps = [
            lambda: [self.backend(bundle, tier) for tier in self.router(bundle).policy.tiers],
            lambda: scan("warm-up: call 555-0100", self.policy(bundle).pii),
            lambda: self.prompt(bundle),
            lambda: self.triage(bundle) and self.triage(bundle).predict(["warm-up"]),
            lambda: bundle.get("corpus") and self.retriever.index(self.retriever.commit(bundle.get("corpus").digest)),
        ]
        for step in steps:
            try:
                step()
            except LoopwrightError as exc:
                log.warning("warm-up: %s", exc.one_line())

    def close(self) -> None:
        """Stop watching and drain every queued trace to the store."""
        self.watcher.stop()
        self.writer.close()
        for value in list(self._warm.values()):  # backends and the models they keep warm
            if callable(getattr(value, "close", None)):
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
        context = BackendContext(self.ws, self._component)
        backend = self._component("backend", digest, lambda: create_backend(spec.backend, spec.options, context))
        for slot in backend.slots:
            self._require(bundle, slot)
        return backend

    def prompt(self, bundle: Bundle) -> PromptBundle | None:
        artifact = bundle.get("prompt")
        if artifact is None:
            return None
        return self._component("prompt", artifact.digest, lambda: PromptBundle.load(self.ws, artifact)).for_flags(bundle.flags)

    def policy(self, bundle: Bundle) -> PolicySet:
        artifact = self._require(bundle, "policy")
        return self._component("policy", artifact.digest, lambda: policy_from_artifact(self.ws, artifact))

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
            raise NotDeployed(f"nothing is deployed on slot {slot!r}", hint=f"`loopwright deploy set {slot} REF`")
        return artifact

    def principal_for(self, tenant: str, role: str, subject: str | None = None, key_id: str = "") -> Principal:
        """A principal with the scopes the live policy grants `tenant` (for in-process callers: CLI, goldens, demo)."""
        policy = self.policy(stable_bundle(self.watcher.current))
        access = policy.retrieval.tenants.get(tenant)
        return Principal(tenant, role, tuple(access.scopes) if access else (), subject, key_id)

    def models(self) -> list[str]:
        """Model names this deployment answers to (for GET /v1/models)."""
        policy = self.router(stable_bundle(self.watcher.current)).policy
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
            flags=dict(bundle.flags),
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
            trace.record.update(outcome="error", model=self._masked(bundle, trace, request.model),
                                error={"type": type(exc).__name__, "message": self._masked(bundle, trace, exc.message)})
            self._finish(trace, tokens=(0, 0), cost=0.0, sync=sync_trace)
            raise
        except Exception as exc:  # a bug: still leave a trace of the call, then let the server answer 500
            log.exception("request %s failed", trace.id)
            trace.record.update(outcome="error", model=self._masked(bundle, trace, request.model),
                                error={"type": type(exc).__name__, "message": "internal error"})
            self._finish(trace, tokens=(0, 0), cost=0.0, sync=sync_trace)
            raise
        self._finish(trace, tokens=(completion.tokens_in, completion.tokens_out), cost=trace.record["cost"], sync=sync_trace)
        completion.record = trace.record
        return completion

    def _run(self, request: ChatRequest, principal: Principal, bundle: Bundle, trace: _Trace) -> Completion:
        router = self.router(bundle)
        rp = router.policy
        _check_messages(request.messages)
        policy = self.policy(bundle)
        if rp.mode == "passthrough":
            return self._passthrough(request, principal, bundle, router, policy, trace)
        if request.model != rp.assistant_model:
            raise ModelNotFound(f"the model {request.model!r} does not exist", hint=f"this gateway serves {rp.assistant_model!r}")

        with trace.stage("input_policy"):
            messages, masked = self._mask(request, policy, trace)
            question = _last_user_message(messages)
        trace.record["input"] = question
        prompt = self.prompt(bundle)
        if masked.refused:
            reason = f"personal data the policy refuses: {', '.join(masked.refused)}"
            trace.record["policies"].append({"name": "pii.refuse", "rule": "pii.actions", "reason": reason})
            return self._declined(request, trace, bundle, prompt, reason)

        key = None
        if rp.cache.enabled:
            with trace.stage("cache"):
                key = cache_key(question, self._cache_context(bundle, principal, policy), normalise_input=rp.cache.normalise)
                cached = self.cache.get(key)
            if cached is not None:
                return self._from_cache(cached, trace, request)

        with trace.stage("triage"):
            triage = self.triage(bundle)
            result = triage.predict([question])[0] if triage is not None else None
        intent = result.intent if result else "unknown"
        trace.record["triage"] = {
            "intent": intent,
            "confidence": round(result.confidence, 4) if result else 0.0,
            "margin": round(result.margin, 4) if result else 0.0,
            "top": [[name, round(p, 4)] for name, p in result.top] if result else [],
            "model": bundle.get("model:triage").ref if bundle.get("model:triage") else None,
        }

        if intent in rp.routing.out_of_scope_intents and principal.role in rp.routing.out_of_scope_roles:
            reason = f"intent {intent} is out of scope for this assistant"
            trace.record["route"] = {"tier": None, "escalated": False, "reason": reason}
            trace.record["policies"].append({"name": "router.out_of_scope", "rule": "routing.out_of_scope_intents", "reason": reason})
            return self._declined(request, trace, bundle, prompt, reason, key=key)

        corpus = self._require(bundle, "corpus")
        with trace.stage("retrieval"):
            evidence = self.retriever.search(
                question, commit=corpus.digest, tenant=principal.tenant, rules=policy.retrieval, k=5, as_of=self.as_of
            )

        tool = rp.routing.tool_intents.get(intent)
        with trace.stage("route"):
            decision = router.decide(
                intent=intent,
                confidence=result.confidence if result else 0.0,
                margin=result.margin if result else 0.0,
                runner_up=result.top[1][0] if result and len(result.top) > 1 else None,
                question=question,
                needs_tool=tool is not None,
                flags=bundle.flags,
            )
        trace.record["route"] = decision.to_dict()
        if rp.tiers[decision.tier].options.get("split_parts") and not evidence.decline:
            with trace.stage("retrieval"):
                evidence = self._multi_part(question, evidence, corpus, principal, policy.retrieval)
        trace.record["retrieval"] = _retrieval_summary(evidence)

        if tool is not None:
            with trace.stage("tools"):
                acted = self._act(tool, question, principal, policy, request, trace)
            if acted is not None:
                return self._respond(request, trace, bundle, decision.tier, acted, [], key=None, rp=rp, question=question)
        if evidence.decline:
            trace.record["policies"].append({"name": "retrieval.decline", "rule": "decline_if_stale", "reason": evidence.reason})
            return self._declined(request, trace, bundle, prompt, evidence.reason, key=key)

        tier = decision.tier
        while True:
            text, citations = self._generate(bundle, tier, question, messages, evidence, prompt, request, trace)
            with trace.stage("output_policy"):
                action, text = self._validate(text, citations, evidence, corpus, principal, policy, trace)
            if action == "escalate" and tier != rp.routing.default_tier:
                trace.record["route"] = {
                    "tier": rp.routing.default_tier,
                    "escalated": True,
                    "reason": f"{decision.reason}; output validator failed on the {tier} tier",
                }
                tier = rp.routing.default_tier
                continue
            break
        if action in ("decline", "escalate"):
            why = "; ".join(v["reason"] for v in trace.record["validators"] if not v["passed"])
            trace.record["policies"].append({"name": f"output.{action}", "rule": "validators", "reason": why})
            completion = self._declined(request, trace, bundle, prompt, why)
            if action == "escalate":
                trace.record["outcome"] = "escalated"
            return completion
        return self._respond(request, trace, bundle, tier, text, citations, key=key, rp=rp, question=question)

    def _mask(self, request: ChatRequest, policy, trace: _Trace):
        """Mask personal data in every message with one vault, so a value keeps its mask across turns."""
        vault = PiiVault(conversation_secret(self._pii_key, request.user or trace.id))
        messages, masked = [], None
        for m in request.messages:
            done = mask_text(m.get("content") or "", policy.pii, vault, hash_key=self._pii_key)
            messages.append({**m, "content": done.text})
            if m.get("role") == "user" and (m.get("content") or "").strip():
                masked = done  # the last user message: the question
        if masked is None:
            raise InvalidInput("no user message with content", hint="the last user message is the question")
        trace.record["pii"] = masked.to_dict()
        if masked.findings:
            trace.record["policies"].append(
                {"name": "pii.mask", "rule": "pii.actions", "reason": f"masked {', '.join(sorted(masked.to_dict()['entities']))}"}
            )
        return messages, masked

    def _masked(self, bundle: Bundle, trace: _Trace, text: str) -> str:
        """`text` masked as the input policy masks a message: for request fields and error messages that
        an error trace echoes (the call failed before, or instead of, its input was masked)."""
        try:
            rules = self.policy(bundle).pii
        except LoopwrightError:  # no policy deployed: the default rules
            rules = None
        return mask_text(text, rules, PiiVault(conversation_secret(self._pii_key, trace.id)), hash_key=self._pii_key).text

    def _cache_context(self, bundle: Bundle, principal: Principal, policy) -> dict[str, Any]:
        """Everything besides the question that could change the answer: the cache-key salt."""
        rules = policy.retrieval
        return {
            "bundle": bundle.fingerprint(),
            "flags": dict(sorted(bundle.flags.items())),
            "tenant": principal.tenant,
            "role": principal.role,
            "scopes": list(principal.scopes),
            "access": rules.tenants[principal.tenant].model_dump(mode="json") if principal.tenant in rules.tenants else None,
            "ceiling": policy.sensitivity.ceiling_for(principal),
        }

    def _act(self, tool: str, question: str, principal: Principal, policy, request: ChatRequest, trace: _Trace) -> str | None:
        """Run the intent's tool when the message names what it needs; the answer, or None to answer from documents."""
        if principal.subject is None:  # tools act for a customer; with none in context, answer from the documents
            trace.record["tools"].append({"name": tool, "status": "skipped", "reason": "no customer in the caller's context"})
            return None
        arguments = extract_arguments(tool, question)
        if arguments is None:
            trace.record["tools"].append({"name": tool, "status": "needs_arguments", "reason": "the message names no card or transaction"})
            return None
        result = execute_tool(
            self.ws,
            tool,
            arguments,
            principal,
            policy=policy,
            idempotency_key=request.idempotency_key,
            confirmed=request.confirm,
            dry_run=trace.record["purpose"] == "golden",
        )
        status = {"done": "executed", "refused": "blocked"}.get(result.status, result.status)
        if result.status == "refused" and result.refusal.action == "conflict":
            status = "conflict"  # permitted, but the card (say) is already in that state
        entry = {"name": tool, "status": status, "ticket": result.ticket, "replayed": result.replayed,
                 "verdicts": [v.to_dict() for v in result.verdicts]}
        if result.receipt is not None:
            entry["receipt"] = {"id": result.receipt.id, "seq": result.receipt.seq, "digest": result.receipt.digest,
                                "signature": result.receipt.signature, "ticket": result.ticket}
        trace.record["tools"].append(entry)
        if result.status == "done":
            trace.record["outcome_hint"] = "accepted"  # the receipt proves the action happened
            return f"{result.output.get('message', 'Done.')} (ticket {result.ticket})"
        if result.status == "needs_confirmation":
            return f"Please confirm: {tool.replace('_', ' ')} with {_describe(arguments)}. Send the request again with confirm=true."
        if result.status == "dry_run":
            return f"{tool.replace('_', ' ')} would run with {_describe(arguments)} (evaluation: not executed)."
        refusal = result.refusal
        if status == "conflict":
            return f"Nothing to do: {refusal.reason}."
        trace.record["policies"].append({"name": f"tool.{refusal.name}", "rule": refusal.rule, "reason": refusal.reason})
        return f"I can't do that: {refusal.reason}."

    def _generate(self, bundle, tier, question, messages, evidence, prompt, request, trace):
        numbered = [
            Evidence(i, s.doc_id, s.title, s.text, s.start, s.end, s.commit, round(s.score, 4))
            for i, s in enumerate(evidence.spans, 1)
        ]
        with trace.stage("generate"):
            generation = self.backend(bundle, tier).generate(
                GenerationRequest(
                    question=question,
                    messages=messages,
                    evidence=numbered,
                    prompt=prompt,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    model=request.model,
                    artifacts=bundle.artifacts,
                )
            )
        trace.record["tokens"] = {"in": generation.tokens_in, "out": generation.tokens_out}
        if generation.info:
            trace.record["generation"] = generation.info
        cited = [evidence.spans[n - 1] for n in generation.citations if 0 < n <= len(evidence.spans)]
        return generation.text, cited

    def _validate(self, text, citations, evidence, corpus, principal, policy, trace) -> tuple[str, str]:
        """Run the policy's output validators; the action they call for and the text to send."""
        commit = self.retriever.commit(corpus.digest)
        documents = self._component("documents", commit.digest, lambda: docs_of(commit))
        ctx = OutputContext(text, citations, evidence, principal, policy, live_commit=commit.digest, documents=documents)
        verdicts = run_output_validators(ctx)
        trace.record["validators"] = [v.to_dict() for v in verdicts]
        trace.record["citations"] = [_citation(n, s) for n, s in enumerate(citations, 1)]
        action = decide(verdicts)
        if action == "summarize":
            trace.record["policies"].append(
                {"name": "sensitivity.ceiling", "rule": "sensitivity", "reason": "a source above the caller's ceiling: summary instead of verbatim text"}
            )
            return "allow", summarize_above_ceiling(ctx)
        return action, text

    def _declined(self, request, trace, bundle, prompt, reason, *, key: str | None = None) -> Completion:
        text = prompt.decline_message(_language(trace.record.get("input", ""))) if prompt else "I can't answer that reliably."
        trace.record.update(outcome="declined", output=text, citations=[], cost=0.0, tokens={"in": 0, "out": 0},
                            decline_reason=reason, tier=(trace.record.get("route") or {}).get("tier"))
        payload = self._payload(trace, bundle)
        if key is not None:  # safe: the key holds the corpus commit and every slot's version
            self.cache.put(key, {"text": text, "payload": payload, "tokens": [0, 0]})
        return Completion(trace.id, request.model, text, "stop", 0, 0, payload)

    def _respond(self, request, trace, bundle, tier, text, citations, *, key, rp, question) -> Completion:
        tokens = trace.record.get("tokens") or {}
        if not tokens.get("in"):  # a tool answer: what the tier read (the question) and wrote
            tokens = {"in": count_tokens(question) + 4, "out": count_tokens(text)}
        cost = rp.price_of(tier).cost(tokens["in"], tokens["out"])
        trace.record.update(
            output=text,
            tier=tier,
            outcome=trace.record.pop("outcome_hint", "answered"),
            prompt_bundle=bundle.get("prompt").ref if bundle.get("prompt") else None,
            cost=round(cost, 8),
            tokens=tokens,
        )
        trace.record.setdefault("citations", [])
        payload = self._payload(trace, bundle)
        if key is not None and not trace.record["tools"]:
            self.cache.put(key, {"text": text, "payload": payload, "tokens": [tokens["in"], tokens["out"]]})
        return Completion(trace.id, request.model, text, "stop", tokens["in"], tokens["out"], payload)

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

    def _passthrough(
        self, request: ChatRequest, principal: Principal, bundle: Bundle, router: Router, policy: PolicySet, trace: _Trace
    ) -> Completion:
        """Forward by model name: input masked, cache consulted, output checked for personal data, traced."""
        rp = router.policy
        if request.model not in rp.tiers:
            raise ModelNotFound(f"the model {request.model!r} does not exist", hint=f"served: {', '.join(sorted(rp.tiers))}")
        with trace.stage("input_policy"):
            messages, _ = self._mask(request, policy, trace)
        trace.record["input"] = _last_user_message(messages)
        trace.record["route"] = {"tier": request.model, "escalated": False, "reason": "passthrough by model name"}
        key = None
        if rp.cache.enabled:
            with trace.stage("cache"):
                context = {**self._cache_context(bundle, principal, policy), "model": request.model}
                key = cache_key(canonical_json(messages), context, normalise_input=False)
                cached = self.cache.get(key)
            if cached is not None:
                return self._from_cache(cached, trace, request)
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
                    artifacts=bundle.artifacts,
                )
            )
        if generation.info:
            trace.record["generation"] = generation.info
        text = generation.text
        with trace.stage("output_policy"):
            leaks = scan(text, policy.pii)
            if leaks:
                text = mask_text(text, policy.pii, PiiVault(conversation_secret(self._pii_key, trace.id)), hash_key=self._pii_key).text
                trace.record["policies"].append({"name": "pii.output", "rule": "pii.actions", "reason": f"masked {len(leaks)} value(s) in the output"})
        trace.record["tokens"] = {"in": generation.tokens_in, "out": generation.tokens_out}
        completion = self._respond(request, trace, bundle, request.model, text, [], key=key, rp=rp, question=trace.record["input"])
        completion.finish_reason = generation.finish_reason
        return completion

    def _from_cache(self, cached: dict[str, Any], trace: _Trace, request: ChatRequest) -> Completion:
        payload = dict(cached["payload"])
        trace.record.update(
            cache={"hit": True, "source_trace": payload.get("trace_id")},
            output=cached["text"],
            triage={"intent": payload.get("intent"), "confidence": payload.get("confidence")},
            route={"tier": payload.get("tier"), "escalated": False, "reason": "cache hit"},
            tier=payload.get("tier"),
            retrieval=payload.get("retrieval"),
            citations=payload.get("citations", []),
            validators=payload.get("validators", []),
            outcome="declined" if payload.get("declined") else "answered",
            cost=0.0,
            tokens={"in": 0, "out": 0},
        )
        trace.record["policies"] = list(payload.get("policies_fired", []))
        payload.update(trace_id=trace.id, cache_hit=True, channel=trace.record["channel"])
        return Completion(trace.id, request.model, cached["text"], "stop", 0, 0, payload)

    def _payload(self, trace: _Trace, bundle: Bundle) -> dict[str, Any]:
        """The response's `loopwright` object."""
        record = trace.record
        triage = record.get("triage") or {}
        return {
            "trace_id": trace.id,
            "intent": triage.get("intent"),
            "confidence": triage.get("confidence"),
            "tier": record.get("tier"),
            "channel": bundle.channel,
            "citations": record.get("citations", []),
            "receipts": [t["receipt"] for t in record["tools"] if t.get("receipt")],
            "tools": [{k: t.get(k) for k in ("name", "status", "ticket")} for t in record["tools"]],
            "policies_fired": record["policies"],
            "validators": record["validators"],
            "retrieval": record.get("retrieval"),
            "generation": record.get("generation"),  # backend facts: for `hf`, the model and adapter digests
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


_VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)
_SPANISH = re.compile(r"[ñ¿¡]|\b(qué|cómo|cuál|cuánto|tarjeta|cuenta|quiero|puedo|para|tasa|por favor)\b", re.I)


def _language(text: str) -> str:
    """en, es or vi, for the decline message: Vietnamese by its letters, Spanish by its marks and words."""
    if _VIETNAMESE.search(text):
        return "vi"
    return "es" if _SPANISH.search(text) else "en"


def _citation(n: int, span: Span) -> dict[str, Any]:
    return {
        "n": n, "doc_id": span.doc_id, "title": span.title, "commit": span.commit,
        "start": span.start, "end": span.end, "text": span.text, "score": round(span.score, 4),
    }


def _describe(arguments: dict[str, Any]) -> str:
    """Tool arguments as a person reads them (the free-text reason left out)."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in arguments.items() if k != "reason")


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
