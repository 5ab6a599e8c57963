"""`loopwright audit`: read and verify the signed receipt chain."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import IntegrityError
from loopwright.registry import receipts

app = typer.Typer(help="The append-only, signed, hash-chained audit log of every state change.", no_args_is_help=True)


def _summary(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if k != "digest")
    return str(value)


def _typed(r: receipts.Receipt) -> tuple[str, object, object]:
    """(action, before, after) from the typed payload; the stored values, marked, when they do not fit it."""
    try:
        payload = r.payload
    except IntegrityError:
        return f"{r.action} [red](does not fit its type)[/red]", r.before, r.after
    if payload is None:
        return r.action, r.before, r.after
    return r.action, payload.before, payload.after


@app.command(epilog="Example: loopwright audit log --subject slot/corpus --limit 20")
def log(
    subject: Annotated[str | None, typer.Option(help="Only receipts about this subject (e.g. slot/corpus, corpus/bank).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (e.g. deploy.set).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the last N.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List receipts, oldest first."""
    ws = open_workspace(workspace)
    with ws.session() as s:
        found = receipts.list_receipts(s, subject=subject, action=action, limit=limit)

    def render(console):
        table = Table("seq", "id", "time", "actor", "action", "subject", "before", "after")
        for r in found:
            action, before, after = _typed(r)
            table.add_row(str(r.seq), r.id, r.ts[:19], r.actor, action, r.subject, _summary(before), _summary(after))
        console.print(table if found else "no receipts")

    emit([r.to_dict() for r in found], json, render)


@app.command(epilog="Example: loopwright audit show rc-1a2b3c4d5e6f")
def show(
    receipt: Annotated[str, typer.Argument(help="Receipt id (rc-...), digest prefix, or sequence number.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one receipt in full."""
    ws = open_workspace(workspace)
    with ws.session() as s:
        r = receipts.get_receipt(s, receipt)

    def render(console):
        payload = r.payload  # a receipt that does not fit its action's type fails here, naming why
        if payload is not None:
            console.print(f"{r.id}: {type(payload).__name__}: {(type(payload).__doc__ or '').strip().splitlines()[0]}")
        console.print_json(data=r.to_dict())

    emit(r.to_dict(), json, render)


@app.command(epilog="Example: loopwright audit verify --json")
def verify(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Check the receipt chain (every digest, link and signature, and its signed head), every artifact against its
    registration receipt, every blob, every corpus index, the deployment table against its receipts, and every
    release note's signature; exit 1 naming what is wrong."""
    from loopwright.observe.integrity import verify_workspace

    report = verify_workspace(open_workspace(workspace))

    def render(console):
        if report["chain_ok"]:
            console.print(f"audit chain intact: {report['checked']} receipts verified")
        else:
            console.print(f"[red]audit chain broken at receipt {report['broken_seq']} ({report['broken_id']}): {report['reason']}[/red]")
        for check in report["checks"]:
            if check["ok"]:
                console.print(f"{check['name']}: {check['checked']} verified")
            for problem in check["problems"]:
                console.print(f"[red]{check['name']}: {problem}[/red]")

    emit(report, json, render)
    if not report["ok"]:
        raise typer.Exit(1)


@app.command(epilog="Example: loopwright audit note note/triage@1   (or a folder holding note.json, note.md, signature.json)")
def note(
    source: Annotated[str, typer.Argument(help="A release note artifact (note/NAME[@N]) or a folder of its files copied out.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check a release note's Ed25519 signature against the workspace key; exit 1 naming what does not match."""
    from loopwright.training.notes import verify_note

    ws = open_workspace(workspace)
    doc = verify_note(ws, source)
    emit({"ok": True, "source": source, "decision": doc["decision"], "candidate": doc["candidate"]["ref"]}, json,
         lambda c: c.print(f"release note {source}: signature valid ({doc['decision']} {doc['candidate']['ref']})"))
