"""`loopwright learn`: the self-learning plane's data side: curate feedback into a dataset, spot-check it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.prompt import Prompt
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, console, emit, open_workspace
from loopwright.errors import InvalidInput
from loopwright.learning.curate import TARGETS, curate
from loopwright.learning.examples import read_examples
from loopwright.learning.review import Decision, parse_decisions, record_decisions, review_sample, review_status
from loopwright.policy.loader import deployed_policy
from loopwright.registry.artifacts import resolve

app = typer.Typer(help="Self-learning data: curate consented feedback into datasets, and spot-check them before training.", no_args_is_help=True)


@app.command("curate", epilog="Example: loopwright learn curate --target triage --since 2026-11-22T00:00:00Z")
def curate_(
    target: Annotated[str, typer.Option(help=f"What the dataset trains: {' or '.join(TARGETS)}.")],
    since: Annotated[str | None, typer.Option(help="ISO-8601 UTC: only traces from this time.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 UTC: only traces before this time.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Build dataset/curated-TARGET from traces, feedback and corrections: consented, verified, deduplicated,
    PII-free, with a replay set of earlier examples; print its data card."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    ws = open_workspace(workspace)
    with Progress(TextColumn("curating"), BarColumn(), MofNCompleteColumn(), console=console, transient=True, disable=json) as bar:
        task = bar.add_task("curate", total=None)
        result = curate(ws, target, since=since, until=until, progress=lambda done, total: bar.update(task, completed=done, total=total))

    def render(c):
        card = result.card
        c.print(f"{result.artifact.short}: {card['out']['examples']} examples from {card['in']['traces']} traces with feedback")
        table = Table("kept", "n", "dropped", "n")
        kept = sorted(card["out"]["by_source"].items())
        dropped = sorted(card["dropped"].items())
        for i in range(max(len(kept), len(dropped))):
            k = kept[i] if i < len(kept) else ("", "")
            d = dropped[i] if i < len(dropped) else ("", "")
            table.add_row(k[0], str(k[1]), d[0], str(d[1]))
        c.print(table)
        c.print(f"next: `loopwright learn review {result.artifact.ref}`")

    emit(result.to_dict(), json, render)


def _ask(items: list[dict], intents: list[str]) -> list[Decision]:
    """Decisions from a person at the terminal; `q` stops early and keeps what was decided."""
    decisions = []
    for n, item in enumerate(items, 1):
        shown = item.get("text") or f"{item.get('prompt')}\n  -> {item.get('completion')}"
        label = item.get("intent") or ("good" if item.get("label") else "bad")
        console.print(f"[bold]{n}/{len(items)}[/bold] [{item.get('language', '-')}] {shown}\n  label: [bold]{label}[/bold]")
        choice = Prompt.ask("approve, reject, relabel or quit", choices=["a", "r", "l", "q"], default="a", console=console)
        if choice == "q":
            break
        if choice == "l":
            if not intents:
                raise InvalidInput("generator items cannot be relabelled; approve or reject them")
            decisions.append(Decision(item["item"], "relabel", Prompt.ask("intent", choices=intents, console=console)))
        else:
            decisions.append(Decision(item["item"], "approve" if choice == "a" else "reject"))
    return decisions


@app.command("review", epilog="Example: loopwright learn review dataset/curated-triage@1 --decisions decisions.jsonl --reviewer qa-bot")
def review(
    dataset: Annotated[str, typer.Argument(help="The curated dataset (dataset/curated-triage@N).")],
    decisions: Annotated[Path | None, typer.Option(help="Decisions to record, JSON lines of {item, decision, label?}: a scripted reviewer.")] = None,
    reviewer: Annotated[str | None, typer.Option(help="Who reviews, for the receipt; default: you ($LOOPWRIGHT_ACTOR or login).")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Spot-check a stratified sample of a curated dataset (approve, reject or relabel), at a prompt or from
    --decisions; with --json and no --decisions, print the sample and the tally instead."""
    ws = open_workspace(workspace)
    policy = deployed_policy(ws)
    who = reviewer or ws.actor
    if decisions is not None:
        if not decisions.is_file():
            raise InvalidInput(f"no decisions file {decisions}")
        status = record_decisions(ws, dataset, parse_decisions(decisions.read_text("utf-8")), reviewer=who, scripted=True, policy=policy)
    else:
        sample = review_sample(ws, dataset, policy=policy)
        if json:
            emit({"sample": sample, "status": review_status(ws, dataset, policy=policy).to_dict()}, True, lambda c: None)
            return
        rows = read_examples(ws, resolve(ws, dataset, kind="dataset"))
        intents = sorted({r["intent"] for r in rows if "intent" in r})
        chosen = _ask(sample, intents) if sample else []
        status = (
            record_decisions(ws, dataset, chosen, reviewer=who, scripted=False, policy=policy)
            if chosen else review_status(ws, dataset, policy=policy)
        )

    def render(c):
        c.print(
            f"{status.ref}: {status.reviewed} of {status.quota} required reviewed; {status.approved} approved, "
            f"{status.rejected} rejected, {status.relabelled} relabelled (rejection rate {status.rejection_rate:.1%})"
        )
        c.print("ready for training" if status.ready else "not ready for training yet")

    emit(status.to_dict(), json, render)
