"""Whole-workspace checks behind `loopwright audit verify`, beyond the receipt chain itself.

- every blob: its bytes hash to its name, and every artifact file's blob is there;
- every artifact row: its digest is its content's, and the one its registration receipt signed;
- the deployment table: replaying the deployment receipts from the first one
  gives exactly the table's rows (so a hand edit of the table is seen).

Each check returns a `Check`; none stops at the first problem, so one run
lists everything that is wrong. The corpus indexes are checked one floor up
(`corpus.commits.verify_indexes`), where their format is known.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.registry.artifacts import content_digest
from loopwright.store.schema import ArtifactRow, DeploymentRow, ReceiptRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

_REF = re.compile(r"^(?P<kind>[a-z]+)/(?P<name>[^@\s]+)@(?P<version>\d+)$")
_SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Check:
    """One verification: how many things it looked at and what was wrong with them."""

    name: str
    checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "checked": self.checked, "problems": self.problems}


def verify_blobs(ws: Workspace, session: Session) -> Check:
    """Re-hash every blob on disk, and check that every artifact file's blob exists."""
    problems, checked = [], 0
    root = ws.blobs.root
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".tmp-") or not path.is_file():
                continue  # a write in progress
            checked += 1
            digest = folder.name + path.name
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != digest:
                problems.append(f"blob {digest[:12]} does not match its digest (altered on disk)")
    for row in session.scalars(sa.select(ArtifactRow).order_by(ArtifactRow.id)):
        for path, entry in sorted(json.loads(row.files).items()):
            if not ws.blobs.path(entry["digest"]).is_file():
                problems.append(f"{row.kind}/{row.name}@{row.version}: blob {entry['digest'][:12]} of {path} is missing")
    return Check("blobs", checked, problems)


def verify_artifacts(session: Session) -> Check:
    """Every artifact row's digest is its content's (kind and file manifest) and the one its registration receipt signed."""
    registered: dict[str, str] = {}
    for subject, after_text in session.execute(
        sa.select(ReceiptRow.subject, ReceiptRow.after).where(ReceiptRow.subject.like("%@%")).order_by(ReceiptRow.seq)
    ):
        after = json.loads(after_text) or {}
        if isinstance(after, dict) and after.get("ref") == subject and after.get("digest"):
            registered.setdefault(subject, after["digest"])
    problems, checked = [], 0
    for row in session.scalars(sa.select(ArtifactRow).order_by(ArtifactRow.id)):
        checked += 1
        ref = f"{row.kind}/{row.name}@{row.version}"
        if content_digest(row.kind, json.loads(row.files)) != row.digest:
            problems.append(f"{ref}: its file list does not hash to its digest (the artifacts table was edited)")
        elif registered.get(ref) != row.digest:
            problems.append(f"{ref}: no registration receipt signed digest {row.digest[:12]}")
    return Check("artifacts", checked, problems)


@dataclass(frozen=True)
class Placement:
    """What the receipts say one slot's channel serves, and the receipt that put it there."""

    digest: str
    share: float
    receipt: str  # rc- id
    action: str
    ungated: bool


def _digest_of_ref(session: Session, ref: str | None) -> str | None:
    match = _REF.match(ref or "")
    if not match:
        return None
    return session.scalar(
        sa.select(ArtifactRow.digest).where(
            ArtifactRow.kind == match["kind"], ArtifactRow.name == match["name"], ArtifactRow.version == int(match["version"])
        )
    )


def replay_deployment(session: Session) -> dict[tuple[str, str], Placement]:
    """The deployment table as the receipts build it: (slot, channel) -> placement.

    Reads only `after`, which is covered by each receipt's digest (`details` may
    be erased): `deploy.set`, `rollback` and `deploy.detach` on `slot/<slot>`, and the release
    steps (`release.canary`, `release.step`, `release.promote`, `release.abort`,
    `release.rollback`) on `release/<id>`.
    """
    state: dict[tuple[str, str], Placement] = {}
    skipped: set[str] = set()  # releases that skipped the golden gate: what they promote is ungated
    rows = session.execute(
        sa.select(ReceiptRow.seq, ReceiptRow.digest, ReceiptRow.action, ReceiptRow.subject, ReceiptRow.after)
        .where(sa.or_(ReceiptRow.subject.startswith("slot/"), ReceiptRow.subject.startswith("release/")))
        .order_by(ReceiptRow.seq)
    )
    for seq, digest, action, subject, after_text in rows:
        after = json.loads(after_text) or {}
        rid = f"rc-{digest[:12]}"
        if subject.startswith("slot/"):
            slot = subject.removeprefix("slot/")
            if action == "rollback":
                state.pop((slot, "canary"), None)
            if action == "deploy.detach":
                state.pop((slot, "canary"), None)
                state.pop((slot, "stable"), None)
            if after.get("digest"):  # a direct set never passes the gate; a rollback returns to what served before
                state[(slot, "stable")] = Placement(after["digest"], 1.0, rid, action, action != "rollback")
            continue
        if action == "release.gate_skipped":
            skipped.add(subject)
        if not subject.startswith("release/") or "slot" not in after:
            continue
        slot = after["slot"]
        if action == "release.canary":
            state[(slot, "canary")] = Placement(after["digest"], float(after["share"]), rid, action, False)
        elif action == "release.step":
            digest_now = _digest_of_ref(session, after.get("candidate"))
            state[(slot, "canary")] = Placement(digest_now or "?", float(after["share"]), rid, action, False)
        elif action in ("release.promote", "release.abort", "release.rollback"):
            state.pop((slot, "canary"), None)
            if action == "release.promote":
                state[(slot, "stable")] = Placement(
                    _digest_of_ref(session, after.get("stable")) or "?", 1.0, rid, action, subject in skipped
                )
    return state


def verify_deployment(session: Session) -> Check:
    """The deployment table equals the replay of the deployment receipts."""
    expected = replay_deployment(session)
    actual = {
        (slot, channel): (digest, share)
        for slot, channel, digest, share in session.execute(
            sa.select(DeploymentRow.slot, DeploymentRow.channel, ArtifactRow.digest, DeploymentRow.share).join(
                ArtifactRow, ArtifactRow.id == DeploymentRow.artifact_id
            )
        )
    }
    problems = []
    for key in sorted(set(expected) | set(actual)):
        slot, channel = key
        want, have = expected.get(key), actual.get(key)
        if want is None:
            problems.append(f"{slot} {channel} serves {have[0][:12]} but no receipt put it there")
        elif have is None:
            problems.append(f"{slot} {channel} serves nothing but receipt {want.receipt} put {want.digest[:12]} there")
        elif have[0] != want.digest:
            problems.append(f"{slot} {channel} serves {have[0][:12]} but receipt {want.receipt} put {want.digest[:12]} there")
        elif channel == "canary" and abs(have[1] - want.share) > _SHARE_TOLERANCE:
            problems.append(f"{slot} canary share is {have[1]:g} but receipt {want.receipt} set {want.share:g}")
    return Check("deployment", len(expected) + len(set(actual) - set(expected)), problems)
