"""`loopwright tools list|call`: the typed tool contracts, for operators (same code path as the gateway)."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace

app = typer.Typer(help="Typed tool contracts: list them, or call one as an operator.", no_args_is_help=True)


@app.command("list", epilog="Example: loopwright tools list --json")
def list_(json: JsonOpt = False) -> None:
    """List the registered tools with their roles, scopes and confirmation rule."""
    from loopwright.tools.contract import registered_tools

    tools = [spec.to_dict() for _, spec in sorted(registered_tools().items())]

    def render(console):
        table = Table("tool", "roles", "scopes", "confirm", "checks", "description")
        for t in tools:
            checks = ", ".join((["owner"] if t["owner_checked"] else []) + t["preconditions"])
            table.add_row(t["name"], ", ".join(t["roles"]), ", ".join(t["scopes"]) or "-", "yes" if t["confirm"] else "-",
                          checks or "-", t["description"])
        console.print(table)

    emit(tools, json, render)


@app.command(epilog="Example: loopwright tools call freeze_card --args '{\"last4\": \"9662\"}' "
                    "--tenant larkspur-retail --subject cus_001 --key op-123")
def call(
    name: Annotated[str, typer.Argument(help="The tool's name.")],
    args: Annotated[str, typer.Option("--args", help="The arguments as a JSON object.")] = "{}",
    tenant: Annotated[str, typer.Option(help="The tenant acted in.")] = "larkspur-retail",
    subject: Annotated[str | None, typer.Option(help="The customer acted for (their id).")] = None,
    role: Annotated[str, typer.Option(help="The role the call is made with.")] = "customer",
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes the caller holds.")] = "retail",
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never acts twice.")] = None,
    confirm: Annotated[bool, typer.Option("--confirm", help="The customer has explicitly confirmed the action.")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Call a tool for a customer through the same validator and executor the gateway uses."""
    from loopwright.policy.principal import Principal
    from loopwright.tools.executor import execute_tool

    ws = open_workspace(workspace)
    principal = Principal(tenant, role, tuple(s for s in scopes.split(",") if s), subject, key_id="cli")
    result = execute_tool(ws, name, args, principal, idempotency_key=key, confirmed=confirm, origin="operator")
    data = result.to_dict()

    def render(console):
        if result.status == "done":
            note = " (repeat: nothing done again)" if result.replayed else ""
            console.print(f"[green]done[/green] {name}: ticket {result.ticket}, receipt {result.receipt.id}{note}")
            console.print_json(jsonlib.dumps(result.output))
        else:
            v = result.refusal
            console.print(f"[yellow]{result.status}[/yellow] {name}: {v.name} ({v.rule}): {v.reason}")

    emit(data, json, render)
    if result.status != "done":
        raise typer.Exit(2 if result.status == "refused" else 3)
