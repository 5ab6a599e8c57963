"""What the gateway keeps warm between calls: the live deployment's watcher, the response cache, and each
loaded artifact (router, backends, prompt, policy, triage) by digest, so a rollback is a dictionary hit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loopwright.errors import LoopwrightError
from loopwright.language import detect_language
from loopwright.policy.pii import scan
from loopwright.policy.principal import Principal
from loopwright.policy.loader import policy_from_artifact
from loopwright.policy.schema import PolicySet
from loopwright.registry.artifacts import Artifact
from loopwright.serving.backends import Backend, BackendContext, create_backend
from loopwright.serving.bundle import Bundle, DeploymentWatcher, stable_bundle
from loopwright.serving.cache import make_cache
from loopwright.serving.prompts import PromptBundle
from loopwright.serving.router import Router, RouterPolicy

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)


class NotDeployed(LoopwrightError):
    """A slot the request path needs has nothing deployed: the server is misconfigured, not the request."""


class Components:
    """Loaded artifacts by (kind, digest), shared by every call and thread."""

    def __init__(self, ws: Workspace, *, watch: bool = True, poll_s: float = 0.2):
        self.ws = ws
        self.watcher = DeploymentWatcher(ws, poll_s=poll_s)
        self.cache = make_cache(ws.settings.cache.redis_url or None)
        self._warm: dict[tuple[str, str], Any] = {}
        self._warm_lock = threading.Lock()
        if watch:
            self.watcher.start()

    def keep_warm(self, kind: str, digest: str, load: Callable[[], Any]) -> Any:
        """`load()` once per (kind, digest) for the gateway's lifetime."""
        key = (kind, digest)
        hit = self._warm.get(key)
        if hit is None:
            with self._warm_lock:
                hit = self._warm.get(key)
                if hit is None:
                    hit = self._warm[key] = load()
        return hit

    def release_warm(self) -> None:
        """Close what holds connections or models (backends and the engines they keep warm)."""
        for value in list(self._warm.values()):
            if callable(getattr(value, "close", None)):
                value.close()

    def warm_up(self) -> None:
        """Load what the live stable deployment needs (router, policy and its PII recognisers, prompt, the language
        identifier, triage, corpus index, backends), so the first request does not pay for it. Best effort: a
        slot that cannot load is logged and then reported by the requests that need it."""
        bundle = stable_bundle(self.watcher.current)
        steps = [
            lambda: [self.backend(bundle, tier) for tier in self.router(bundle).policy.tiers],
            lambda: scan("warm-up: call 555-0100", self.policy(bundle).pii),
            lambda: self.prompt(bundle),
            lambda: bundle.get("prompt") and detect_language("warm-up", self.prompt(bundle).decline),
            lambda: self.triage(bundle) and self.triage(bundle).predict(["warm-up"]),
            lambda: bundle.get("corpus") and self.retriever.index(self.retriever.commit(bundle.get("corpus").digest)),
        ]
        for step in steps:
            try:
                step()
            except LoopwrightError as exc:
                log.warning("warm-up: %s", exc.one_line())

    def router(self, bundle: Bundle) -> Router:
        artifact = self.require(bundle, "router")
        return self.keep_warm("router", artifact.digest, lambda: Router(RouterPolicy.from_artifact(self.ws, artifact)))

    def backend(self, bundle: Bundle, tier: str) -> Backend:
        spec = self.router(bundle).policy.tiers[tier]
        digest = f"{self.require(bundle, 'router').digest}:{tier}"
        context = BackendContext(self.ws, self.keep_warm)
        backend = self.keep_warm("backend", digest, lambda: create_backend(spec.backend, spec.options, context))
        for slot in backend.slots:
            self.require(bundle, slot)
        return backend

    def prompt(self, bundle: Bundle) -> PromptBundle | None:
        artifact = bundle.get("prompt")
        if artifact is None:
            return None
        return self.keep_warm("prompt", artifact.digest, lambda: PromptBundle.load(self.ws, artifact)).for_flags(bundle.flags)

    def policy(self, bundle: Bundle) -> PolicySet:
        artifact = self.require(bundle, "policy")
        return self.keep_warm("policy", artifact.digest, lambda: policy_from_artifact(self.ws, artifact))

    def triage(self, bundle: Bundle):
        """The bundle's triage model: the `model:triage` head, or the `adapter:triage` adapter over it when the
        bundle names one bound to that head. An adapter that no longer fits (another head went live, the caps
        tightened) is logged and the head alone serves: the request does not fail for it."""
        artifact = bundle.get("model:triage")
        if artifact is None:
            return None
        from loopwright.serving.triage import TriageModel

        base = self.keep_warm("triage", artifact.digest, lambda: TriageModel.load(self.ws, artifact))
        adapter = bundle.get("adapter:triage")
        if adapter is None:
            return base
        return self.keep_warm("triage-adapter", f"{adapter.digest}:{artifact.digest}", lambda: self._adapted(adapter, artifact, base))

    def _adapted(self, adapter: Artifact, artifact: Artifact, base):
        from loopwright.serving.triage_adapter import load_adapted

        try:
            return load_adapted(self.ws, adapter, artifact)
        except LoopwrightError as exc:
            log.error("adapter:triage %s not served, the base head serves alone: %s", adapter.ref, exc.one_line())
            return base

    @staticmethod
    def require(bundle: Bundle, slot: str) -> Artifact:
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
