"""`loopwright deploy`: what each slot serves, and setting a slot's stable artifact."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.registry import deployment
from loopwright.release.validation import deploy_checked

app = typer.Typer(help="Deployment slots: which artifact each part of the served system runs.", no_args_is_help=True)


@app.command(epilog="Example: loopwright deploy show --json")
def show(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show every slot's stable artifact and any canary with its traffic share."""
    ws = open_workspace(workspace)
    dep = deployment.get_deployment(ws)

    def render(console):
        table = Table("slot", "stable", "digest", "canary", "share", title=f"deployment v{dep.version}")
        for slot, state in sorted(dep.slots.items()):
            table.add_row(
                slot,
                state.stable.ref if state.stable else "-",
                state.stable.digest[:12] if state.stable else "-",
                state.canary.ref if state.canary else "-",
                f"{state.canary_share:.0%}" if state.canary else "-",
            )
        console.print(table if dep.slots else "nothing deployed yet")

    emit(dep.to_dict(), json, render)


@app.command("set", epilog="Example: loopwright deploy set router router/bank@2 --reason 'raise escalation cap'")
def set_(
    slot: Annotated[str, typer.Argument(help="KIND or KIND:ROLE, e.g. corpus, model:triage, adapter:triage.")],
    ref: Annotated[str, typer.Argument(help="The artifact to serve: kind/name@N, kind/name or a digest prefix.")],
    reason: Annotated[str, typer.Option(help="Why, for the receipt.")] = "",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Put an artifact live on a slot's stable channel, with a receipt (no gate: releases come later)."""
    ws = open_workspace(workspace)
    receipt = deploy_checked(ws, slot, ref, reason=reason)
    emit(receipt.to_dict(), json, lambda c: c.print(f"{slot}: {receipt.after['stable']}  (receipt {receipt.id})"))
