"""`loopwright flags`: feature flags (boolean, or a sticky percentage of callers), changed with receipts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.registry import flags
from loopwright.registry.deployment import get_deployment

app = typer.Typer(help="Feature flags for router policies and prompt bundles, evaluated with OpenFeature semantics.", no_args_is_help=True)


@app.command("list", epilog="Example: loopwright flags list --json")
def list_(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Every flag and its state."""
    found = [f.to_dict() for f in get_deployment(open_workspace(workspace)).flags.values()]

    def render(console):
        table = Table("flag", "on", "share of callers", "description")
        for f in found:
            table.add_row(f["name"], "yes" if f["enabled"] else "no", f"{f['percentage']:.0f}%", f["description"])
        console.print(table if found else "no flags")

    emit(found, json, render)


@app.command("set", epilog="Example: loopwright flags set small-tier --on --percentage 25 --reason 'trial'")
def set_(
    name: Annotated[str, typer.Argument(help="Flag name: lowercase letters, digits, '.', '_' and '-'.")],
    on: Annotated[bool, typer.Option("--on/--off", help="Whether the flag is on.")] = True,
    percentage: Annotated[float | None, typer.Option(min=0, max=100, help="On for this share of callers, sticky by caller.")] = None,
    description: Annotated[str | None, typer.Option(help="What the flag gates.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the receipt.")] = "",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create or change a flag; running servers pick it up within a second."""
    receipt = flags.set_flag(open_workspace(workspace), name, enabled=on, percentage=percentage, description=description, reason=reason)
    emit(receipt.to_dict(), json, lambda c: c.print(f"flag {name}: {receipt.after}  (receipt {receipt.id})"))


@app.command("delete", epilog="Example: loopwright flags delete small-tier")
def delete(
    name: Annotated[str, typer.Argument(help="The flag to remove.")],
    reason: Annotated[str, typer.Option(help="Why, for the receipt.")] = "",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Remove a flag (callers then get the default: off)."""
    receipt = flags.delete_flag(open_workspace(workspace), name, reason=reason)
    emit(receipt.to_dict(), json, lambda c: c.print(f"flag {name} deleted (receipt {receipt.id})"))
