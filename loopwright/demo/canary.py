"""Driving traffic at a release in the demo until its canary analysis decides: shared by every phase that ships a change."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loopwright.registry.receipts import list_receipts
from loopwright.release import releases

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext
    from loopwright.workspace import Workspace


def receipt_ids(ws: Workspace, subject: str) -> list[str]:
    with ws.session() as s:
        return [r.id for r in list_receipts(s, subject=subject)]


def drive_canary(ctx: DemoContext, phase: str, release: releases.Release, report: dict[str, Any] | None, *,
                 skip_gate: bool = False) -> dict[str, Any]:
    """Drive traffic at a started release until the analysis promotes or rolls it back (or abort it undecided)."""
    slot = release.slot
    ids = receipt_ids(ctx.ws, f"release/{release.id}")
    label = "gate skipped" if skip_gate else f"gate {'passed' if release.state == 'canary' else 'failed'}"
    ctx.event(phase, f"{label}: {release.candidate.ref} on {slot}", ids[-1] if ids else None)
    outcome: dict[str, Any] = {"release": release.id, "gate": report, "state": release.state, "served": [], "actions": []}
    if release.state != "canary":
        outcome["receipts"] = ids
        return outcome
    ctx.gateway.watcher.refresh()
    started = time.monotonic()
    while True:
        outcome["served"] += ctx.serve(ctx.sizes.canary_batch, phase, f"{phase}: canary of {release.candidate.ref}")
        actions = [a for a in releases.tick(ctx.ws) if a["release"] == release.id]
        ctx.gateway.watcher.refresh()
        for a in actions:
            if a["action"] != "wait":
                receipts = receipt_ids(ctx.ws, f"release/{release.id}")
                ctx.event(phase, f"{a['action']}: {release.candidate.ref}", receipts[-1])
                outcome["actions"].append(a)
        state = releases.history(ctx.ws, slot)[-1]
        if state.get("state") != "canary":
            break
        if len(outcome["served"]) >= ctx.sizes.canary_max:
            aborted = releases.abort(ctx.ws, slot, reason=f"demo: no decision after {len(outcome['served'])} requests")
            ctx.event(phase, f"aborted: {aborted.candidate.ref} (no decision)", receipt_ids(ctx.ws, f"release/{release.id}")[-1])
            state = {"state": "aborted"}
            break
    outcome.update(state=state.get("state"), receipts=receipt_ids(ctx.ws, f"release/{release.id}"),
                   seconds=round(time.monotonic() - started, 2))
    return outcome


def release(
    ctx: DemoContext, phase: str, slot: str, ref: str, *, skip_gate: bool = False, reason: str, share: float | None = None,
    flag: bool = False,
) -> dict[str, Any]:
    """Gate and canary `ref` on `slot` (behind the `canary.SLOT` flag with `flag`), driving traffic until the
    analysis promotes or rolls it back.

    The split is sticky by customer and the sample bank has 1,000, so a 10% canary is ~100 customers'
    traffic; some changes go out on half the callers to reach the analysis's sample sooner.
    """
    started, report = releases.start(
        ctx.ws, slot, ref, canary=share or ctx.sizes.canary_share, skip_gate=skip_gate, reason=reason, gateway=ctx.gateway, flag=flag
    )
    return drive_canary(ctx, phase, started, report, skip_gate=skip_gate)
