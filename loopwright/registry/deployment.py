"""Deployment: which artifact each slot serves on the `stable` channel, and on `canary` during a release.

A slot is a kind (`prompt`, `corpus`, `router`, `policy`) or a kind with a
role (`model:triage`, `model:small`, `adapter:triage`). Every change bumps a
version counter that running servers watch, and writes a receipt in the same
transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import utc_now
from loopwright.errors import InvalidInput
from loopwright.registry.artifacts import Artifact, get_by_id, resolve
from loopwright.registry.counter import bump_version, deployment_version
from loopwright.registry.flags import Flag, load_flags
from loopwright.registry.payloads import DeployNote, DeploySet, Placed, Pointer
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.store.schema import DeploymentRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

SLOT_KINDS = ("model", "adapter", "prompt", "corpus", "router", "policy")
CHANNELS = ("stable", "canary")
_SLOT = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<role>[a-z0-9][a-z0-9_-]{0,49}))?$")

@dataclass(frozen=True)
class SlotState:
    """What one slot serves."""

    slot: str
    stable: Artifact | None
    canary: Artifact | None = None
    canary_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "stable": self.stable.to_dict() if self.stable else None,
            "canary": self.canary.to_dict() if self.canary else None,
            "canary_share": self.canary_share,
        }

@dataclass(frozen=True)
class Deployment:
    """Every slot's state, at one deployment version."""

    version: int
    slots: dict[str, SlotState] = field(default_factory=dict)
    flags: dict[str, Flag] = field(default_factory=dict)

    def stable(self, slot: str) -> Artifact | None:
        state = self.slots.get(slot)
        return state.stable if state else None

    def serving(self, slot: str, channel: str = "stable") -> Artifact | None:
        """What `slot` serves on `channel`: its canary when asked for one and there is one, else its stable artifact."""
        state = self.slots.get(slot)
        if state is None:
            return None
        return state.canary if channel == "canary" and state.canary else state.stable

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "slots": {k: v.to_dict() for k, v in sorted(self.slots.items())},
            "flags": {k: f.to_dict() for k, f in sorted(self.flags.items())},
        }


def deployed_artifact(ws: Workspace, slot: str, *, channel: str = "stable") -> Artifact | None:
    """The artifact live on `slot` now (see `Deployment.serving`); None when nothing is deployed there."""
    return get_deployment(ws).serving(slot, channel)


def slot_kind(slot: str) -> str:
    """The artifact kind a slot holds; raises `InvalidInput` for a malformed slot name."""
    match = _SLOT.match(slot)
    if not match or match["kind"] not in SLOT_KINDS:
        raise InvalidInput(
            f"invalid slot {slot!r}", hint=f"a slot is KIND or KIND:ROLE with KIND one of {', '.join(SLOT_KINDS)}"
        )
    return match["kind"]

def get_deployment(ws: Workspace, *, session: Session | None = None) -> Deployment:
    """The current deployment, read in one transaction so it is consistent."""
    if session is None:
        with ws.session() as s:
            return get_deployment(ws, session=s)
    version = deployment_version(session)
    rows = session.scalars(sa.select(DeploymentRow)).all()
    by_slot: dict[str, dict[str, DeploymentRow]] = {}
    for row in rows:
        by_slot.setdefault(row.slot, {})[row.channel] = row
    slots = {}
    for slot, channels in by_slot.items():
        stable, canary = channels.get("stable"), channels.get("canary")
        slots[slot] = SlotState(
            slot=slot,
            stable=get_by_id(session, stable.artifact_id) if stable else None,
            canary=get_by_id(session, canary.artifact_id) if canary else None,
            canary_share=canary.share if canary else 0.0,
        )
    return Deployment(version=version, slots=slots, flags=load_flags(session))

def set_stable(
    ws: Workspace,
    slot: str,
    ref: str,
    *,
    actor: str | None = None,
    reason: str = "",
    receipt: type[DeploySet] = DeploySet,
    session: Session | None = None,
) -> Receipt:
    """Put artifact `ref` live on `slot`'s stable channel, with a receipt (of type `receipt`) naming before and after.

    This is the mechanism only, and passes no golden gate and no canary: the receipt says so
    (`after.ungated`), and `loopwright deploy show` names the slots it left that way. Whether the
    artifact can be served is the release plane's check (`loopwright.release.validation.deploy_checked`),
    and `release.start` is the gated path.
    """
    if session is None:
        with ws.write() as s:
            return set_stable(ws, slot, ref, actor=actor, reason=reason, receipt=receipt, session=s)
    slot_kind(slot)  # a malformed slot fails before the reference is looked up
    artifact = resolve(ws, ref, session=session)
    before, version = replace_stable(session, slot, artifact)
    payload = receipt(
        before=Pointer(stable=before.ref, digest=before.digest) if before else None,
        after=Placed(stable=artifact.ref, digest=artifact.digest),
        details=DeployNote(reason=reason, deployment_version=version),
    )
    return append_receipt(session, ws, payload, subject=f"slot/{slot}", actor=actor)


def put_canary(session: Session, slot: str, artifact: Artifact, share: float) -> int:
    """Serve `artifact` on `slot`'s canary channel to `share` of callers; returns the new deployment version.

    Call inside a write transaction that also appends the release's receipt.
    """
    if not 0.0 < share <= 1.0:
        raise InvalidInput(f"canary share must be in (0, 1], not {share}")
    row = session.get(DeploymentRow, (slot, "canary"))
    if row is None:
        session.add(DeploymentRow(slot=slot, channel="canary", artifact_id=artifact.id, share=share, updated_at=utc_now()))
    else:
        row.artifact_id, row.share, row.updated_at = artifact.id, share, utc_now()
    return bump_version(session)

def drop_canary(session: Session, slot: str) -> int:
    """Send all of `slot`'s traffic back to stable; returns the new deployment version."""
    row = session.get(DeploymentRow, (slot, "canary"))
    if row is not None:
        session.delete(row)
    return bump_version(session)


def drop_stable(session: Session, slot: str) -> int:
    """Serve nothing on `slot` (stable and canary); returns the new deployment version. The caller writes the receipt."""
    for channel in ("stable", "canary"):
        row = session.get(DeploymentRow, (slot, channel))
        if row is not None:
            session.delete(row)
    return bump_version(session)


def replace_stable(session: Session, slot: str, artifact: Artifact) -> tuple[Artifact | None, int]:
    """Point `slot`'s stable channel at `artifact`; returns what it served before and the new version.

    The caller writes the receipt (a release step or a rollback) in the same transaction.
    """
    if artifact.kind != slot_kind(slot):
        raise InvalidInput(f"slot {slot!r} holds {slot_kind(slot)} artifacts; {artifact.ref} is a {artifact.kind}")
    row = session.get(DeploymentRow, (slot, "stable"))
    before = get_by_id(session, row.artifact_id) if row else None
    if row is None:
        session.add(DeploymentRow(slot=slot, channel="stable", artifact_id=artifact.id, share=1.0, updated_at=utc_now()))
    else:
        row.artifact_id, row.updated_at = artifact.id, utc_now()
    return before, bump_version(session)
