"""`loopwright policy check` and `loopwright subject export|erase|requests|approve`: thin wrappers over loopwright.policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput

app = typer.Typer(help="Policy sets: PII handling, sensitivity ceilings, tool permissions, output validators.",
                  no_args_is_help=True)
subject_app = typer.Typer(help="Data-subject requests: export or erase what is stored about a customer; the requests customers open in chat.",
                          no_args_is_help=True)


@app.command(epilog="Example: loopwright policy check bank/policy.toml")
def check(
    file: Annotated[Path, typer.Argument(help="A policy file (TOML), as the `policy` artifact holds it.")],
    json: JsonOpt = False,
) -> None:
    """Validate a policy file; errors name the file, the line and the reason."""
    from loopwright.policy.loader import load_policy

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    policy = load_policy(data, str(file))
    summary = {
        "file": str(file),
        "ok": True,
        "pii_entities": sorted(policy.pii.actions),
        "roles": {role: list(rules.tools) for role, rules in sorted(policy.tools.roles.items())},
        "confirm": list(policy.tools.confirm),
        "validators": {name: rule.on_fail for name, rule in policy.validators.items()},
        "retrieval_tenants": sorted(policy.retrieval.tenants),
    }

    def render(console):
        console.print(f"[green]ok[/green] {file}")
        console.print(f"  PII entities: {', '.join(summary['pii_entities'])}")
        for role, tools in summary["roles"].items():
            console.print(f"  role {role}: {', '.join(tools) or '(no tools)'}")
        console.print("  validators: " + ", ".join(f"{k} (on fail: {v})" for k, v in summary["validators"].items()))

    emit(summary, json, render)


@subject_app.command(epilog="Example: loopwright subject export cus_001 --json > cus_001.json")
def export(
    subject: Annotated[str, typer.Argument(help="The customer id, e.g. cus_001.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Export everything stored about a customer, as JSON."""
    from loopwright.policy.subjects import export_subject

    data = export_subject(open_workspace(workspace), subject)
    emit(data, json, lambda c: c.print_json(data=data, default=str))


@subject_app.command(epilog="Example: loopwright subject erase cus_001 --yes")
def erase(
    subject: Annotated[str, typer.Argument(help="The customer id, e.g. cus_001.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Erase a customer's stored payloads (receipts keep their digests, so `audit verify` still passes)."""
    from loopwright.policy.subjects import erase_subject

    ws = open_workspace(workspace)
    if not yes and not typer.confirm(f"Erase what is stored about {subject}?"):
        raise typer.Exit(1)
    receipt = erase_subject(ws, subject)
    emit({"receipt": receipt.id, "erased": receipt.after["erased"]}, json,
         lambda c: c.print(f"erased {receipt.after['erased']} (receipt {receipt.id})"))


@subject_app.command(epilog="Example: loopwright subject requests --json")
def requests(
    all: Annotated[bool, typer.Option("--all", help="Include completed requests.")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Data-subject requests opened in chat (access or erasure), soonest due first, with their deadlines."""
    from rich.table import Column, Table

    from loopwright.policy.requests import list_requests

    found = [r.to_dict() for r in list_requests(open_workspace(workspace), include_completed=all)]

    def render(console):
        if not found:
            console.print("no open data-subject requests" if not all else "no data-subject requests")
            return
        # ids stay whole: `subject approve` takes them
        table = Table(Column("id", no_wrap=True, min_width=16), "kind", "tenant", Column("subject", no_wrap=True),
                      Column("status", no_wrap=True), "opened", "due", "days left")
        for r in found:
            left = f"[red]{r['days_left']:.1f} overdue[/red]" if r["overdue"] else f"{r['days_left']:.1f}"
            table.add_row(r["id"], r["kind"], r["tenant"], r["subject"], r["status"], r["opened_at"][:16],
                          r["due_at"][:16], left if r["status"] != "completed" else "-")
        console.print(table)

    emit(found, json, render)


@subject_app.command(epilog="Example: loopwright subject approve dsr_3f9a1c2b4d5e")
def approve(
    request_id: Annotated[str, typer.Argument(help="The request's id, as `subject requests` lists it.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Approve an erasure the policy holds for staff ([privacy] erasure_approval); the erase runs now."""
    from loopwright.policy.loader import deployed_policy
    from loopwright.policy.requests import approve_request

    ws = open_workspace(workspace)
    done = approve_request(ws, request_id, approver=ws.actor, policy=deployed_policy(ws))
    emit(done.to_dict(), json, lambda c: c.print(f"{done.id} ({done.kind}) {done.status} at {done.completed_at}"))
