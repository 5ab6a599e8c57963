"""Bundles: the artifacts one request is served with, resolved once at its start.

A caller is on the canary channel of a slot when the sticky hash of (caller,
slot) falls under that slot's canary share, or, for a canary behind a flag,
when the flag is on for them; so the same customer stays on one side of each
release. The deployment is re-read only when its version counter
changes; a watcher thread polls the counter, so a rollback reaches every
running replica within `poll_s` without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopwright.registry.artifacts import Artifact
from loopwright.registry.counter import deployment_version
from loopwright.registry.deployment import Deployment, get_deployment
from loopwright.registry.flags import canary_flag, evaluate
from loopwright.registry.sticky import sticky_fraction

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bundle:
    """Every slot's artifact for one request, and which slots it takes from canary."""

    deployment_version: int
    artifacts: dict[str, Artifact]
    canary_slots: tuple[str, ...] = ()
    flags: dict[str, bool] = field(default_factory=dict)  # every flag, evaluated for this caller

    @property
    def channel(self) -> str:
        return "canary" if self.canary_slots else "stable"

    def get(self, slot: str) -> Artifact | None:
        return self.artifacts.get(slot)

    def fingerprint(self) -> dict[str, str]:
        """Slot -> artifact digest: what the cache key and the trace record."""
        return {slot: a.digest for slot, a in sorted(self.artifacts.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_version": self.deployment_version,
            "channel": self.channel,
            "canary_slots": list(self.canary_slots),
            "flags": dict(sorted(self.flags.items())),
            "slots": {slot: {"ref": a.ref, "digest": a.digest} for slot, a in sorted(self.artifacts.items())},
        }


def resolve_bundle(deployment: Deployment, caller: str, overrides: dict[str, Artifact] | None = None) -> Bundle:
    """The bundle for `caller`: stable everywhere, canary where the caller's sticky hash falls in the share.

    `overrides` replace slots outright (a candidate under golden evaluation).
    """
    chosen: dict[str, Artifact] = {}
    canary: list[str] = []
    for slot, state in deployment.slots.items():
        if state.canary is not None and _on_canary(deployment, slot, state.canary_share, caller):
            chosen[slot] = state.canary
            canary.append(slot)
        elif state.stable is not None:
            chosen[slot] = state.stable
    for slot, artifact in (overrides or {}).items():
        chosen[slot] = artifact
    flags = {name: evaluate(deployment.flags, name, caller) for name in deployment.flags}
    return Bundle(deployment.version, chosen, tuple(sorted(canary)), flags)


def _on_canary(deployment: Deployment, slot: str, share: float, caller: str) -> bool:
    """A canary behind its flag serves whom the flag is on for (OpenFeature, sticky by caller); else the slot's split."""
    flag = canary_flag(slot)
    if flag in deployment.flags:
        return evaluate(deployment.flags, flag, caller)
    return sticky_fraction(caller, slot) < share


def stable_bundle(deployment: Deployment) -> Bundle:
    """Every slot's stable artifact: for what belongs to no caller (model names, a tenant's scopes)."""
    return Bundle(deployment.version, {slot: s.stable for slot, s in deployment.slots.items() if s.stable is not None})


class DeploymentWatcher:
    """Holds the current deployment and refreshes it when the store's version counter moves."""

    def __init__(self, ws: Workspace, *, poll_s: float = 0.2):
        self.ws = ws
        self.poll_s = poll_s
        self._deployment = get_deployment(ws)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Run after every poll, on this thread: other state that must reach every replica as fast as a
        # deployment change (the API-key cache's revocation check). Each must be cheap and may raise.
        self.duties: list[Callable[[], None]] = []

    @property
    def current(self) -> Deployment:
        return self._deployment

    def refresh(self) -> bool:
        """Re-read the deployment if its version changed; True when it did."""
        with self.ws.session() as s:
            version = deployment_version(s)
            if version == self._deployment.version:
                return False
            fresh = get_deployment(self.ws, session=s)
        with self._lock:
            self._deployment = fresh
        log.info("deployment now at version %d", fresh.version)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deployment-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            for duty in (self.refresh, *self.duties):
                try:
                    duty()
                except Exception:  # a transient store error must not kill the watcher
                    log.exception("%s failed", getattr(duty, "__qualname__", duty))
