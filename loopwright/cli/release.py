"""`loopwright golden`, `release` and `rollback`: gate, canary, promote and revert changes to what is served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput
from loopwright.observe.traces import get_trace
from loopwright.registry.artifacts import resolve
from loopwright.release import goldens, releases

golden_app = typer.Typer(help="Golden suites: recorded inputs whose answers must keep their properties.", no_args_is_help=True)
release_app = typer.Typer(help="Releases: gate a change on the goldens, canary it, promote or roll back.", no_args_is_help=True)


def _print_report(console, report: dict) -> None:
    table = Table("golden", "critical", "why it failed", title=f"{report['suite']} on {report['bundle']}")
    for f in report["failures"]:
        table.add_row(f["id"], "yes" if f["critical"] else "", "; ".join(f["failures"]))
    if report["failures"]:
        console.print(table)
    verdict = "[green]PASS[/green]" if report["ok"] else "[red]FAIL[/red]"
    console.print(f"{verdict}: {report['passed']}/{report['total']} passed, {report['critical_failed']} critical failures")
    if report.get("mode") == "no_regression":
        regressions = ", ".join(r["id"] for r in report["regressions"]) or "none"
        console.print(f"gate (no critical regression against stable): regressions {regressions}; "
                      f"fixed {len(report['fixed'])}; known critical failures {len(report['known_failures'])}")


@golden_app.command("run", epilog="Example: loopwright golden run --candidate corpus=corpus/bank@3")
def golden_run(
    deployment: Annotated[str, typer.Option(help="stable or canary.")] = "stable",
    candidate: Annotated[list[str] | None, typer.Option(help="SLOT=REF to replace on stable (repeatable).")] = None,
    suite: Annotated[str | None, typer.Option(help="goldens/NAME[@N]; default the workspace's suite.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run a golden suite through the real request path; exit 1 when any critical golden fails."""
    from loopwright.serving.pipeline import Gateway

    if deployment not in ("stable", "canary"):
        raise InvalidInput(f"--deployment must be stable or canary, not {deployment!r}")
    ws = open_workspace(workspace)
    overrides = {}
    for item in candidate or []:
        slot, sep, ref = item.partition("=")
        if not sep:
            raise InvalidInput(f"--candidate takes SLOT=REF, not {item!r}")
        overrides[slot] = resolve(ws, ref)
    artifact, suite_goldens = goldens.load_suite(ws, suite)
    gateway = Gateway(ws, watch=False)
    try:
        report = goldens.run_suite(gateway, suite_goldens, suite=artifact.ref, overrides=overrides, channel=deployment).to_dict()
    finally:
        gateway.close()
    emit(report, json, lambda c: _print_report(c, report))
    if not report["ok"]:
        raise typer.Exit(1)


@golden_app.command("record", epilog="Example: loopwright golden record tr_0123456789abcdef01234567 --out new-goldens.jsonl")
def golden_record(
    trace_id: Annotated[str, typer.Argument(help="The trace to turn into a golden.")],
    golden_id: Annotated[str | None, typer.Option("--id", help="Id for the new golden; default from the trace.")] = None,
    out: Annotated[Path | None, typer.Option(help="Append the golden to this JSONL file.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Draft a golden from a real (masked) trace for the team to edit, then register the file as a goldens version."""
    ws = open_workspace(workspace)
    draft = goldens.golden_from_trace(get_trace(ws, trace_id, tenant=None), golden_id or f"rec-{trace_id.removeprefix('tr_')[:12]}")
    if out:
        with out.open("a", encoding="utf-8") as f:
            f.write(goldens.dump_jsonl([draft]))
    emit(draft, json, lambda c: c.print_json(data=draft))


@release_app.command("start", epilog="Example: loopwright release start corpus corpus/bank@2 --canary 10")
def release_start(
    slot: Annotated[str, typer.Argument(help="The slot to change: corpus, router, policy, prompt, model:ROLE, adapter:ROLE.")],
    ref: Annotated[str, typer.Argument(help="The candidate artifact.")],
    canary: Annotated[float, typer.Option(help="Percent of traffic for the canary.", min=0.1, max=100)] = 10,
    skip_gate: Annotated[bool, typer.Option("--skip-gate", help="Skip the golden gate (a receipt records that you did).")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the receipts.")] = "",
    suite: Annotated[str | None, typer.Option(help="Goldens suite for the gate.")] = None,
    flag: Annotated[bool, typer.Option("--flag/--no-flag", help="Put the canary behind the feature flag canary.SLOT (sticky per caller).")] = False,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Gate a candidate on the goldens; if it passes, canary it on a sticky share of callers (behind a flag with --flag)."""
    ws = open_workspace(workspace)
    release, report = releases.start(ws, slot, ref, canary=canary / 100, skip_gate=skip_gate, reason=reason, suite=suite, flag=flag)

    def render(console):
        if report:
            _print_report(console, report)
        if release.state == "rejected":
            console.print(f"[red]release {release.id} rejected by the golden gate[/red]; {slot} unchanged")
        else:
            console.print(f"release {release.id}: {release.candidate.ref} on {slot} canary at {release.share:.0%}")

    emit({**release.to_dict(), "gate_report": report}, json, render)
    if release.state == "rejected":
        raise typer.Exit(1)


def print_release_outcome(console, slot: str, outcome: dict | None) -> None:
    """One line: what the release plane did with a new artifact."""
    if outcome is None:
        console.print(f"already live on {slot}")
    elif outcome["state"] == "rejected":
        console.print(f"[red]release {outcome['id']} rejected by the golden gate[/red]; {slot} unchanged")
    elif outcome["state"] == "promoted":
        console.print(f"release {outcome['id']}: passed the gate; {slot} served nothing, so it is now stable")
    else:
        console.print(f"release {outcome['id']}: passed the gate; canary at {outcome['share']:.0%} on {slot} "
                      f"(`loopwright release status`)")


def _releases_table(console, found) -> None:
    table = Table("id", "slot", "candidate", "baseline", "state", "share", "started", "last analysis")
    for r in found:
        table.add_row(str(r["id"]), r["slot"], r["candidate"], r["baseline"] or "-", r["state"], f"{r['share']:.0%}", r["started_at"][:19], (r["analysis"] or {}).get("reason", "-"))
    console.print(table if found else "no releases in progress")


@release_app.command("status", epilog="Example: loopwright release status --json")
def release_status(
    slot: Annotated[str | None, typer.Argument(help="Only this slot.")] = None, workspace: WorkspaceOpt = None, json: JsonOpt = False
) -> None:
    """Releases in progress, with their latest canary analysis."""
    found = [r.to_dict() for r in releases.active(open_workspace(workspace), slot)]
    emit(found, json, lambda c: _releases_table(c, found))


@release_app.command("analyze", epilog="Example: loopwright release analyze")
def release_analyze(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Analyse every canary once and act on it: wait, step up, promote, or roll back."""
    actions = releases.tick(open_workspace(workspace), actor="release analyze")

    def render(console):
        for a in actions:
            console.print(f"{a['slot']} (release {a['release']}): {a['action']} - {a['reason']}")
        if not actions:
            console.print("no releases in progress")

    emit(actions, json, render)


@release_app.command("watch", epilog="Example: loopwright release watch --interval 15")
def release_watch(
    interval: Annotated[float, typer.Option(min=1, help="Seconds between analyses.")] = 30,
    workspace: WorkspaceOpt = None,
) -> None:
    """Keep analysing canaries until interrupted. `loopwright serve` runs the same controller; both take turns
    through one store lease, so a canary is never acted on twice."""
    import time

    from loopwright.release.controller import ReleaseController

    controller = ReleaseController(open_workspace(workspace), interval_s=interval)
    waiting = False
    try:
        while True:
            actions = controller.step()
            if actions is None and not waiting:
                typer.echo("another process (a `loopwright serve` replica) holds the release-controller lease; waiting")
            waiting = actions is None
            for a in actions or []:
                typer.echo(f"{a['slot']} (release {a['release']}): {a['action']} - {a['reason']}")
            time.sleep(interval)
    finally:
        controller.stop()


@release_app.command("promote", epilog="Example: loopwright release promote corpus")
def release_promote(slot: Annotated[str, typer.Argument()], reason: str = "promoted by hand", workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Promote a slot's canary to stable now."""
    r = releases.promote(open_workspace(workspace), slot, reason=reason)
    emit(r.to_dict(), json, lambda c: c.print(f"{slot}: {r.candidate.ref} promoted to stable"))


@release_app.command("abort", epilog="Example: loopwright release abort corpus --reason 'wrong table'")
def release_abort(slot: Annotated[str, typer.Argument()], reason: str = "aborted by hand", workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Stop a slot's canary; all traffic returns to stable."""
    r = releases.abort(open_workspace(workspace), slot, reason=reason)
    emit(r.to_dict(), json, lambda c: c.print(f"{slot}: canary {r.candidate.ref} aborted"))


@release_app.command("detach", epilog="Example: loopwright release detach adapter:triage --reason 'the new base learnt it'")
def release_detach(slot: Annotated[str, typer.Argument(help="An adapter slot (adapter:NAME).")],
                   reason: Annotated[str, typer.Option(help="Why, for the receipt.")] = "detached by hand",
                   workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Empty an adapter slot: its base serves alone from the next request, any canary on it ends."""
    receipt = releases.detach(open_workspace(workspace), slot, reason=reason)
    emit(receipt.to_dict(), json, lambda c: c.print(f"{slot}: {receipt.before['stable'] or receipt.before['canary']} detached (receipt {receipt.id})"))


@release_app.command("history", epilog="Example: loopwright release history corpus")
def release_history(slot: Annotated[str | None, typer.Argument()] = None, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Every release and rollback: who, what, why, and the evidence."""
    found = releases.history(open_workspace(workspace), slot)

    def render(console):
        table = Table("release", "slot", "candidate", "state", "steps (receipts)")
        for item in found:
            if "rollback" in item:
                r = item["rollback"]
                table.add_row("rollback", r["subject"].removeprefix("slot/"), r["after"]["stable"], f"by {r['actor']}", (r["details"] or {}).get("reason", ""))
            else:
                steps = ", ".join(f"{x['action'].removeprefix('release.')} by {x['actor']}" for x in item["receipts"])
                table.add_row(str(item["id"]), item["slot"], item["candidate"], item["state"], steps)
        console.print(table if found else "no releases")

    emit(found, json, render)


def rollback(
    slot: Annotated[str, typer.Argument(help="The slot to revert, alone.")],
    to: Annotated[str | None, typer.Option(help="The artifact to return to; default the previous one.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the receipt.")] = "",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Return one slot to its previous (or named) artifact, ending any canary on it (during a canary, stable stays); running servers follow within a second."""
    receipt = releases.rollback(open_workspace(workspace), slot, to=to, reason=reason)

    def render(console):
        ended = f"canary {receipt.before['canary']} ended; " if receipt.before.get("canary") else ""
        console.print(f"{slot}: {ended}{receipt.before['stable'] or 'nothing'} -> {receipt.after['stable'] or 'nothing'} (receipt {receipt.id})")

    emit(receipt.to_dict(), json, render)


def register(app: typer.Typer) -> None:
    app.add_typer(golden_app, name="golden")
    app.add_typer(release_app, name="release")
    app.command(epilog="Example: loopwright rollback corpus --reason 'stale savings table'")(rollback)
