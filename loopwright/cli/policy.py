"""`loopwright policy check` and `loopwright subject export|erase`: thin wrappers over loopwright.policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput

app = typer.Typer(help="Policy sets: PII handling, sensitivity ceilings, tool permissions, output validators.",
                  no_args_is_help=True)
subject_app = typer.Typer(help="Data-subject requests: export or erase what is stored about a customer.",
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
