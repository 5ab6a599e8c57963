"""Releases: one slot moving from its stable artifact to a candidate, every step with a receipt.

    start -> golden gate --fail--> rejected
                 |pass (or --skip-gate, receipted as such)
                 v
             canary at steps[0] --analysis--> next step ... --> promoted
                 |                     |
                 +-- abort             +-- significant regression --> rolled_back (automatic)

One release per slot at a time; releases of different slots are independent.
`rollback` returns any slot to its previous (or a named) artifact at any time,
touching no other slot; `detach` empties an adapter slot, so its base serves alone
(a new base that learnt what the adapter taught no longer needs it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import canonical_json, utc_now
from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound
from loopwright.registry.artifacts import Artifact, get_by_id, resolve
from loopwright.registry.payloads import (
    Action,
    CanaryStart,
    CanaryStep,
    Candidate,
    DeployNote,
    DeploySet,
    Detach,
    DetachNote,
    EndFrom,
    EndNote,
    EndState,
    GateSummary,
    GateVerdict,
    Pointer,
    Reason,
    ReleaseAbort,
    ReleaseCanary,
    ReleaseEnd,
    ReleaseGate,
    ReleaseGateSkipped,
    ReleasePromote,
    ReleaseRollback,
    ReleaseStep,
    Rollback,
    RollbackNote,
    RolledBackFrom,
    Share,
    StepNote,
)
from loopwright.registry.receipts import Receipt, append_receipt, list_receipts
from loopwright.release import analysis as canary_analysis
from loopwright.registry.deployment import drop_canary, drop_stable, get_deployment, put_canary, replace_stable, slot_kind
from loopwright.release.validation import check_servable
from loopwright.serving.router import CanaryRules, RouterPolicy
from loopwright.registry.flags import canary_flag, delete_flag, set_flag
from loopwright.store.schema import ArtifactRow, FlagRow, ReleaseRow

if TYPE_CHECKING:
    from loopwright.serving.trace import Trace
    from loopwright.serving.pipeline import Gateway
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

ACTIVE = "canary"
ENDED = ("rejected", "promoted", "rolled_back", "aborted")


@dataclass(frozen=True)
class Release:
    id: int
    slot: str
    candidate: Artifact
    baseline: Artifact | None
    state: str
    share: float
    step: int
    skip_gate: bool
    reason: str
    actor: str
    started_at: str
    step_started_at: str
    ended_at: str | None
    gate: dict[str, Any]
    analysis: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slot": self.slot,
            "candidate": self.candidate.ref,
            "candidate_digest": self.candidate.digest,
            "baseline": self.baseline.ref if self.baseline else None,
            "state": self.state,
            "share": self.share,
            "step": self.step,
            "skip_gate": self.skip_gate,
            "reason": self.reason,
            "actor": self.actor,
            "started_at": self.started_at,
            "step_started_at": self.step_started_at,
            "ended_at": self.ended_at,
            "gate": self.gate,
            "analysis": self.analysis,
        }


def _from_row(session: Session, row: ReleaseRow) -> Release:
    return Release(
        id=row.id,
        slot=row.slot,
        candidate=get_by_id(session, row.candidate_id),
        baseline=get_by_id(session, row.baseline_id) if row.baseline_id else None,
        state=row.state,
        share=row.share,
        step=row.step,
        skip_gate=row.skip_gate,
        reason=row.reason,
        actor=row.actor,
        started_at=row.started_at,
        step_started_at=row.step_started_at,
        ended_at=row.ended_at,
        gate=json.loads(row.gate),
        analysis=json.loads(row.analysis),
    )


def _active_row(session: Session, slot: str) -> ReleaseRow | None:
    return session.scalars(sa.select(ReleaseRow).where(ReleaseRow.slot == slot, ReleaseRow.state == ACTIVE)).first()


def active(ws: Workspace, slot: str | None = None) -> list[Release]:
    """Releases in their canary phase (of one slot, or all)."""
    query = sa.select(ReleaseRow).where(ReleaseRow.state == ACTIVE).order_by(ReleaseRow.id)
    if slot:
        query = query.where(ReleaseRow.slot == slot)
    with ws.session() as s:
        return [_from_row(s, r) for r in s.scalars(query)]


def history(ws: Workspace, slot: str | None = None) -> list[dict[str, Any]]:
    """Every release and rollback of a slot (or all), with its receipts: who, what, why, and the evidence."""
    with ws.session() as s:
        query = sa.select(ReleaseRow).order_by(ReleaseRow.id)
        if slot:
            query = query.where(ReleaseRow.slot == slot)
        out = []
        for row in s.scalars(query):
            release = _from_row(s, row)
            steps = [r.to_dict() for r in list_receipts(s, subject=f"release/{row.id}")]
            out.append({**release.to_dict(), "receipts": steps})
        rollbacks = [
            r.to_dict()
            for r in list_receipts(s, action=Action.ROLLBACK)
            if slot is None or r.subject == f"slot/{slot}"
        ]
    return out + [{"rollback": r} for r in rollbacks]


def start(
    ws: Workspace,
    slot: str,
    ref: str,
    *,
    canary: float = 0.1,
    skip_gate: bool = False,
    reason: str = "",
    actor: str | None = None,
    gateway: Gateway | None = None,
    suite: str | None = None,
    flag: bool = False,
) -> tuple[Release, dict[str, Any] | None]:
    """Gate `ref` for `slot` on the goldens and, if it passes, canary it to `canary` of traffic.

    Returns the release and the gate report (None with `skip_gate`). A failed
    gate ends the release as `rejected`, with the report in its receipt. On a
    slot that serves nothing yet there is no stable traffic to compare a canary
    with, so a candidate that passes the gate goes straight to stable
    (`promoted`, receipts `release.gate` then `release.promote`).

    With `flag`, the canary goes out behind the feature flag `canary_flag(slot)`, a percentage of
    callers sticky by caller (OpenFeature), set in the same transaction; each step moves the flag
    with the share and the end of the release deletes it.
    """
    from loopwright.release.goldens import gate, load_suite, run_suite

    kind = slot_kind(slot)
    candidate = resolve(ws, ref, kind=kind)
    check_servable(ws, candidate, slot)
    if not 0 < canary <= 1:
        raise InvalidInput(f"--canary must be a share in (0, 1], not {canary}")
    dep = get_deployment(ws)
    baseline = dep.stable(slot)
    if baseline is not None and baseline.digest == candidate.digest:
        raise ConflictError(f"{candidate.ref} is already live on {slot}")
    with ws.session() as s:
        if _active_row(s, slot) is not None:
            raise ConflictError(f"slot {slot!r} already has a release in progress", hint="`loopwright release status`")

    report = None
    if not skip_gate:
        own = gateway is None
        if own:
            from loopwright.serving.pipeline import Gateway

            gateway = Gateway(ws, watch=False)
        try:
            suite_artifact, goldens = load_suite(ws, suite)
            rules = _canary_rules(ws)
            tried = run_suite(gateway, goldens, suite=suite_artifact.ref, overrides={slot: candidate})
            baseline_report = run_suite(gateway, goldens, suite=suite_artifact.ref) if rules.gate == "no_regression" else None
            report = gate(tried, baseline_report)
        finally:
            if own:
                gateway.close()

    now = utc_now()
    with ws.write() as s:
        if _active_row(s, slot) is not None:  # checked again under the write lock
            raise ConflictError(f"slot {slot!r} already has a release in progress")
        rejected = report is not None and not report["ok"]
        row = ReleaseRow(
            slot=slot,
            candidate_id=candidate.id,
            baseline_id=baseline.id if baseline else None,
            state="rejected" if rejected else ACTIVE,
            share=0.0 if rejected else canary,
            step=0,
            skip_gate=skip_gate,
            reason=reason,
            actor=actor or ws.actor,
            started_at=now,
            step_started_at=now,
            ended_at=now if rejected else None,
            gate=canonical_json(report or {"skipped": True}),
            analysis=canonical_json({}),
        )
        s.add(row)
        s.flush()
        subject = f"release/{row.id}"
        common = Candidate(slot=slot, candidate=candidate.ref, digest=candidate.digest, baseline=baseline.ref if baseline else None)
        if skip_gate:
            append_receipt(s, ws, ReleaseGateSkipped(after=common, details=Reason(reason=reason)), subject=subject, actor=actor)
        else:
            summary = GateSummary(**{k: report.get(k) for k in GateSummary.model_fields})
            verdict = GateVerdict(**dict(common), passed=not rejected)
            append_receipt(s, ws, ReleaseGate(after=verdict, details=summary), subject=subject, actor=actor)
        # A slot that serves nothing has no stable traffic to canary against, and goes straight to stable once
        # gated; except an adapter slot, whose stable callers are served by the base model alone.
        if not rejected and baseline is None and slot_kind(slot) != "adapter":
            _, version = replace_stable(s, slot, candidate)
            row.state, row.share, row.ended_at = "promoted", 1.0, now
            payload = ReleasePromote(
                before=EndFrom(slot=slot, share=0.0, candidate=candidate.ref),
                after=EndState(slot=slot, state="promoted", stable=candidate.ref),
                details=EndNote(reason=reason or "first artifact on the slot: no stable traffic to canary against",
                                evidence=None, deployment_version=version),
            )
            append_receipt(s, ws, payload, subject=subject, actor=actor)
        elif not rejected:
            flag_name = canary_flag(slot) if flag else None
            if flag_name:  # first: the canary must never serve by the slot's own split
                set_flag(ws, flag_name, enabled=True, percentage=round(canary * 100, 4), session=s, actor=actor,
                         description=f"canary of {candidate.ref} on {slot} (release {row.id})", reason=reason)
            version = put_canary(s, slot, candidate, canary)
            payload = ReleaseCanary(
                before=Share(share=0.0),
                after=CanaryStart(**dict(common), share=canary, flag=flag_name),
                details=DeployNote(reason=reason, deployment_version=version),
            )
            append_receipt(s, ws, payload, subject=subject, actor=actor)
        release = _from_row(s, row)
    return release, report


_ENDED_BY: dict[type[ReleaseEnd], str] = {ReleasePromote: "promoted", ReleaseAbort: "aborted", ReleaseRollback: "rolled_back"}


def _end(ws: Workspace, slot: str, receipt: type[ReleaseEnd], *, actor: str | None, reason: str, evidence: dict | None = None) -> Release:
    state = _ENDED_BY[receipt]
    with ws.write() as s:
        row = _active_row(s, slot)
        if row is None:
            raise NotFound(f"no release in progress on slot {slot!r}", hint="`loopwright release status`")
        candidate = get_by_id(s, row.candidate_id)
        if state == "promoted":
            replace_stable(s, slot, candidate)
        _drop_flag(s, ws, slot, actor, f"release {row.id} {state}")
        drop_version = drop_canary(s, slot)
        ended_from = EndFrom(slot=slot, share=row.share, candidate=candidate.ref)  # the share before it changes below
        row.state, row.ended_at, row.share = state, utc_now(), (1.0 if state == "promoted" else 0.0)
        if evidence is not None:
            row.analysis = canonical_json(evidence)
        stable = candidate.ref if state == "promoted" else (get_by_id(s, row.baseline_id).ref if row.baseline_id else None)
        payload = receipt(
            before=ended_from,
            after=EndState(slot=slot, state=state, stable=stable),
            details=EndNote(reason=reason, evidence=evidence, deployment_version=drop_version),
        )
        append_receipt(s, ws, payload, subject=f"release/{row.id}", actor=actor)
        return _from_row(s, row)


def _drop_flag(s: Session, ws: Workspace, slot: str, actor: str | None, reason: str) -> None:
    """Delete the slot's canary flag, if its canary was behind one: with no canary it would mean nothing."""
    if s.get(FlagRow, canary_flag(slot)) is not None:
        delete_flag(ws, canary_flag(slot), session=s, actor=actor, reason=reason)


def promote(ws: Workspace, slot: str, *, actor: str | None = None, reason: str = "promoted by hand") -> Release:
    """Make the canary the stable artifact of its slot and end the release."""
    return _end(ws, slot, ReleasePromote, actor=actor, reason=reason)


def abort(ws: Workspace, slot: str, *, actor: str | None = None, reason: str = "aborted by hand") -> Release:
    """Send all traffic back to stable and end the release; stable never changed."""
    return _end(ws, slot, ReleaseAbort, actor=actor, reason=reason)


def step_up(ws: Workspace, slot: str, share: float, *, actor: str | None, evidence: dict[str, Any]) -> Release:
    """Move an active canary to the next share, with the analysis that justified it."""
    with ws.write() as s:
        row = _active_row(s, slot)
        if row is None:
            raise NotFound(f"no release in progress on slot {slot!r}")
        candidate = get_by_id(s, row.candidate_id)
        before = row.share
        if s.get(FlagRow, canary_flag(slot)) is not None:
            set_flag(ws, canary_flag(slot), enabled=True, percentage=round(share * 100, 4), session=s, actor=actor,
                     reason=f"release {row.id}: canary to {share:.0%}")
        version = put_canary(s, slot, candidate, share)
        row.share, row.step, row.step_started_at, row.analysis = share, row.step + 1, utc_now(), canonical_json(evidence)
        payload = ReleaseStep(
            before=Share(share=before),
            after=CanaryStep(slot=slot, candidate=candidate.ref, share=share),
            details=StepNote(evidence=evidence, deployment_version=version),
        )
        append_receipt(s, ws, payload, subject=f"release/{row.id}", actor=actor)
        return _from_row(s, row)


def analyse(ws: Workspace, release: Release, rules: CanaryRules) -> canary_analysis.Analysis:
    """Compare this step's canary and stable traffic for the release's slot (golden runs excluded)."""
    from loopwright.serving.trace_store import load_traces

    canary, stable = [], []
    for trace in load_traces(ws, since=release.step_started_at):
        if trace.purpose != "serve" or trace.outcome == "error":
            continue
        slot_artifact = trace.bundle.get(release.slot)
        if slot_artifact is None:
            # A first adapter has no stable artifact: its stable callers are served by the base alone.
            if release.baseline is None and slot_kind(release.slot) == "adapter":
                stable.append(trace)
            continue
        if release.slot in trace.canary_slots and slot_artifact.digest == release.candidate.digest:
            canary.append(trace)
        elif release.baseline is None or slot_artifact.digest == release.baseline.digest:
            stable.append(trace)
    return canary_analysis.analyse(canary, stable, rules, focus=_focus(ws, release), outcomes=_outcome_rules(ws))


def _outcome_rules(ws: Workspace):
    """The stable policy's `[outcomes]` rules (the built-in ones with no policy deployed)."""
    from loopwright.policy.loader import deployed_policy
    from loopwright.policy.schema import OutcomeRules

    try:
        return deployed_policy(ws).outcomes
    except NotFound:
        return OutcomeRules()


def live_analysis(ws: Workspace) -> list[tuple[Release, canary_analysis.Analysis]]:
    """Each active release with its canary analysis as of now (what the controller's next tick would decide)."""
    found = active(ws)
    if not found:
        return []
    rules = _canary_rules(ws)
    return [(release, analyse(ws, release, rules)) for release in found]


def _focus(ws: Workspace, release: Release):
    """For a corpus release, the requests whose evidence cited a document the candidate changed."""
    if release.slot != "corpus" or release.baseline is None:
        return None
    from loopwright.corpus.commits import diff

    changes = diff(ws, release.baseline.digest, release.candidate.digest)
    changed = {doc for ids in changes.to_dict().values() for doc in ids}
    if not changed:
        return None

    def cites_changed(trace: Trace) -> bool:
        return trace.retrieval is not None and any(span.doc_id in changed for span in trace.retrieval.spans)

    # A document whose text changed is served by both sides; an added or newly certified one only by the canary.
    return canary_analysis.Focus("cites changed documents", cites_changed, on_stable=bool(changes.changed))


def tick(ws: Workspace, *, actor: str = "release-controller") -> list[dict[str, Any]]:
    """Analyse every active release once and act: wait, step up, promote, or roll back. Returns what happened."""
    found = active(ws)
    if not found:
        return []
    rules = _canary_rules(ws)
    actions = []
    for release in found:
        result = analyse(ws, release, rules)
        evidence = {"share": release.share, **result.to_dict()}
        if result.decision == "wait":
            actions.append({"slot": release.slot, "release": release.id, "action": "wait", "reason": result.reason})
            continue
        if result.decision == "rollback":
            _end(ws, release.slot, ReleaseRollback, actor=actor, reason=result.reason, evidence=evidence)
            actions.append({"slot": release.slot, "release": release.id, "action": "rolled_back", "reason": result.reason})
            continue
        later = [s for s in rules.steps if s > release.share]
        if not later or later[0] >= 1.0:
            _end(ws, release.slot, ReleasePromote, actor=actor, reason=result.reason, evidence=evidence)
            actions.append({"slot": release.slot, "release": release.id, "action": "promoted", "reason": result.reason})
        else:
            step_up(ws, release.slot, later[0], actor=actor, evidence=evidence)
            actions.append({"slot": release.slot, "release": release.id, "action": f"stepped to {later[0]:.0%}", "reason": result.reason})
    return actions


def _canary_rules(ws: Workspace) -> CanaryRules:
    """The gate and canary rules of the stable router."""
    router = get_deployment(ws).stable("router")
    if router is None:
        raise NotFound("no router deployed: the gate and canary rules live in the router artifact")
    return RouterPolicy.from_artifact(ws, router).canary


def rollback(ws: Workspace, slot: str, *, to: str | None = None, actor: str | None = None, reason: str = "") -> Receipt:
    """Return one slot to its previous stable artifact (or `to`), ending any canary on it. No other slot changes.

    During a canary, "previous" is what stable serves: the canary ends and stable stays,
    in every state of the release (a first canary, with nothing before it, included).
    """
    kind = slot_kind(slot)
    with ws.write() as s:
        state = get_deployment(ws, session=s).slots.get(slot)
        if state is None or (state.stable is None and state.canary is None):
            raise NotFound(f"nothing is deployed on slot {slot!r}")
        if to is not None:
            target = resolve(ws, to, session=s, kind=kind)
        elif state.canary is not None:
            target = state.stable  # None for a first release: the slot goes back to serving nothing
        else:
            target = _previous(s, slot, state.stable)
        current = state.stable.digest if state.stable else None
        if state.canary is None and target.digest == current:
            raise ConflictError(f"{slot} already serves {target.ref}")
        row = _active_row(s, slot)
        if row is not None:
            row.state, row.ended_at, row.share = "rolled_back", utc_now(), 0.0
        _drop_flag(s, ws, slot, actor, reason or "rolled back by hand")
        version = drop_canary(s, slot)
        before = state.stable
        if target is not None and target.digest != current:
            before, version = replace_stable(s, slot, target)
        payload = Rollback(
            before=_serving(before, state.canary),
            after=Pointer(stable=target.ref if target else None, digest=target.digest if target else None),
            details=RollbackNote(reason=reason or "rolled back by hand", ended_release=row.id if row else None, deployment_version=version),
        )
        return append_receipt(s, ws, payload, subject=f"slot/{slot}", actor=actor)


def detach(ws: Workspace, slot: str, *, actor: str | None = None, reason: str = "", evidence: dict[str, Any] | None = None) -> Receipt:
    """Empty adapter slot `slot`: its base serves alone from the next request, any canary on it ends; a receipt.

    Only an adapter slot can be emptied: every other slot always serves something, and is changed by a release
    or a rollback. `evidence` (what was measured to justify it) goes on the receipt.
    """
    if slot_kind(slot) != "adapter":
        raise InvalidInput(f"only an adapter slot can be detached, not {slot!r}",
                           hint="release another artifact onto it, or `loopwright rollback SLOT`")
    with ws.write() as s:
        state = get_deployment(ws, session=s).slots.get(slot)
        if state is None or (state.stable is None and state.canary is None):
            raise NotFound(f"nothing is attached on slot {slot!r}")
        row = _active_row(s, slot)
        if row is not None:
            row.state, row.ended_at, row.share = "aborted", utc_now(), 0.0
        _drop_flag(s, ws, slot, actor, reason or "detached")
        version = drop_stable(s, slot)
        payload = Detach(
            before=_serving(state.stable, state.canary),
            after=Pointer(stable=None, digest=None),
            details=DetachNote(reason=reason or "detached by hand", ended_release=row.id if row else None, evidence=evidence,
                               deployment_version=version),
        )
        return append_receipt(s, ws, payload, subject=f"slot/{slot}", actor=actor)


def _serving(stable: Artifact | None, canary: Artifact | None) -> RolledBackFrom:
    """What a slot served before a rollback or a detach, for its receipt."""
    return RolledBackFrom(stable=stable.ref if stable else None, digest=stable.digest if stable else None,
                          canary=canary.ref if canary else None)


def _previous(session: Session, slot: str, current: Artifact) -> Artifact:
    """What the slot served before `current` became stable, from the receipts."""
    for receipt in reversed(list_receipts(session, subject=f"slot/{slot}")):
        change = receipt.payload
        if not isinstance(change, (DeploySet, Rollback)) or change.after.digest != current.digest:
            continue
        before = change.before.digest if change.before is not None else None
        if before and before != current.digest:  # not a canary-only rollback
            row = session.scalars(sa.select(ArtifactRow).where(ArtifactRow.digest == before)).first()
            if row is not None:
                return get_by_id(session, row.id)
    for release in session.scalars(
        sa.select(ReleaseRow).where(ReleaseRow.slot == slot, ReleaseRow.state == "promoted").order_by(ReleaseRow.id.desc())
    ):
        if release.candidate_id == current.id and release.baseline_id:
            return get_by_id(session, release.baseline_id)
    raise NotFound(f"slot {slot!r} has no earlier artifact to roll back to", hint="pass --to REF")


def release_new_artifact(ws: Workspace, slot: str, ref: str, *, reason: str, canary: float = 0.1, flag: bool = False) -> dict | None:
    """Hand a freshly made artifact to the release plane (gate, then canary: `start`), naming it in any error.

    For `triage fit --deploy` and `model sample --deploy`. None when it is already live on `slot`.
    """
    live = get_deployment(ws).stable(slot)
    if live is not None and live.ref == ref:
        return None
    try:
        release, report = start(ws, slot, ref, canary=canary, reason=reason, flag=flag)
    except LoopwrightError as exc:
        raise type(exc)(f"{ref} is registered but not released on {slot}: {exc.message}",
                        hint=exc.hint or "fix that and run `loopwright release start`, or pass --no-deploy") from None
    return {**release.to_dict(), "gate_report": report}
