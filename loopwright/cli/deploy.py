"""`loopwright deploy`: what each slot serves, and setting a slot's stable artifact."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput
from loopwright.registry import deployment
from loopwright.registry.audit import replay_deployment
from loopwright.release.validation import deploy_checked

app = typer.Typer(help="Deployment slots: which artifact each part of the served system runs.", no_args_is_help=True)


@app.command(epilog="Example: loopwright deploy show --json")
def show(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show every slot's stable artifact, how it got there (ungated: a direct `deploy set`), and any canary."""
    ws = open_workspace(workspace)
    with ws.session() as s:
        dep = deployment.get_deployment(ws, session=s)
        placed = replay_deployment(s)
    how = {
        slot: {"receipt": p.receipt, "action": p.action, "ungated": p.ungated}
        for (slot, channel), p in placed.items()
        if channel == "stable" and dep.stable(slot) is not None and dep.stable(slot).digest == p.digest
    }

    def render(console):
        table = Table("slot", "stable", "digest", "put there by", "canary", "share", title=f"deployment v{dep.version}")
        for slot, state in sorted(dep.slots.items()):
            by = how.get(slot)
            table.add_row(
                slot,
                state.stable.ref if state.stable else "-",
                state.stable.digest[:12] if state.stable else "-",
                (f"[yellow]ungated[/yellow] {by['action']} {by['receipt']}" if by["ungated"] else f"{by['action']} {by['receipt']}") if by else "-",
                state.canary.ref if state.canary else "-",
                f"{state.canary_share:.0%}" if state.canary else "-",
            )
        console.print(table if dep.slots else "nothing deployed yet")

    emit({**dep.to_dict(), "stable_placed_by": how}, json, render)


@app.command("set", epilog="Example: loopwright deploy set router router/bank@2 --force --reason 'hotfix: escalation cap'")
def set_(
    slot: Annotated[str, typer.Argument(help="KIND or KIND:ROLE, e.g. corpus, model:triage, adapter:triage.")],
    ref: Annotated[str, typer.Argument(help="The artifact to serve: kind/name@N, kind/name or a digest prefix.")],
    force: Annotated[bool, typer.Option("--force", help="Required: this skips the golden gate and the canary.")] = False,
    reason: Annotated[str, typer.Option(help="Required: why it skips the gate, for the receipt.")] = "",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Put an artifact straight on a slot's stable channel, skipping the gate: needs --force and --reason; the
    receipt and `deploy show` say it was ungated. `loopwright release start` is the gated path."""
    deployment.slot_kind(slot)  # a malformed slot is named before the missing flags
    if not force or not reason.strip():
        raise InvalidInput(
            "deploy set skips the golden gate and the canary: it needs --force and --reason",
            hint=f"`loopwright release start {slot} {ref}` gates and canaries it instead",
        )
    ws = open_workspace(workspace)
    receipt = deploy_checked(ws, slot, ref, reason=reason.strip())
    emit(receipt.to_dict(), json, lambda c: c.print(f"{slot}: {receipt.after['stable']}  (ungated; receipt {receipt.id})"))
