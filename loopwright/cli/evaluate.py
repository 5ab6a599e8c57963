"""`loopwright eval` and `loopwright promote`: score a triage model on held-out items, and promote it on evidence."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace, step_progress
from loopwright.training.evaluate import Evaluation, evaluate
from loopwright.training.promote import Comparison, evaluate_pair, promote

SuiteOpt = Annotated[str | None, typer.Option(help="The golden suite (goldens/NAME[@N]); default: the workspace's only one.")]
AgainstOpt = Annotated[str | None, typer.Option("--against", help="The model to compare with; default: the one live on model:triage.")]


def _print_eval(out, e: Evaluation) -> None:
    m, r = e.report["metrics"], e.report
    table = Table("language", "items", "accuracy", title=f"{e.model.ref} on {r['heldout']} ({r['items']} items)")
    for lang, n in sorted(r["n_by_language"].items()):
        table.add_row(lang, str(n), f"{m[f'accuracy.{lang}']:.3f}")
    table.add_row("all", str(sum(r["n_by_language"].values())), f"{m['accuracy']:.3f}")
    out.print(table)
    drops = Table("rewrite", "items changed", "accuracy before", "after", "drop", title="robustness")
    for kind, d in sorted(r["drops"].items()):
        drops.add_row(kind, str(d["n"]), f"{d['before']:.3f}", f"{d['after']:.3f}", f"{d['drop']:+.3f}")
    out.print(drops)
    worst = sorted((v, k.removeprefix("accuracy.intent.")) for k, v in m.items() if k.startswith("accuracy.intent."))[:3]
    out.print(f"weakest intents: {', '.join(f'{k} {v:.2f}' for v, k in worst)}")
    out.print(f"ECE {r['ece']:.3f} (reliability.svg in {e.artifact.ref}); safety {m['safety']:.3f} on {r['adversarial']} "
              f"adversarial items; policy {m['policy']:.3f} on items with PII masked; goldens {m['goldens']:.3f} (critical {m['goldens.critical']:.3f}); "
              f"{len(r['contaminated'])} items left out as seen in training")
    out.print(f"[bold]composite {r['composite']:.3f}[/bold]  {e.artifact.short}{'  (stored before)' if e.reused else ''}")


def _print_comparison(out, c: Comparison) -> None:
    if c.incumbent is None:
        out.print(c.reason())
        return
    table = Table("metric", c.incumbent.model.ref, c.candidate.model.ref, "delta", title=f"paired on {c.items} items, {c.goldens} goldens")
    for name, d in c.deltas.items():
        if not name.startswith(("accuracy.intent.", "robustness.")):
            table.add_row(name, f"{d['incumbent']:.3f}", f"{d['candidate']:.3f}", f"{d['delta']:+.3f}")
    out.print(table)
    tests = Table("critical metric", "delta", "allowed drop", "test", "p", "blocks")
    for t in c.tests:
        tests.add_row(t.metric, f"{t.delta:+.3f}", f"{t.allowed:.2f}", t.test, f"{t.p:.3g}", "[red]yes[/red]" if t.blocks else "no")
    if c.tests:
        out.print(tests)
    out.print(("[green]" if c.decision == "promote" else "[red]") + c.reason() + ("[/green]" if c.decision == "promote" else "[/red]"))


def register(app: typer.Typer) -> None:
    @app.command("eval", epilog="Example: loopwright eval model/triage@2 --against model/triage@1")
    def eval_(
        model: Annotated[str, typer.Argument(help="A triage model artifact (model/NAME[@N] or a digest prefix).")],
        against: AgainstOpt = None,
        suite: SuiteOpt = None,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Score MODEL on the policy's held-out set: accuracy per language and intent, calibration (ECE, reliability
        diagram), robustness to typos, accents, casing, code-switching and paraphrase, safety, the goldens, and the
        composite. With --against, the paired comparison promote would make (nothing is promoted)."""
        ws = open_workspace(workspace)
        with step_progress(json, 10) as progress:
            if against is None:
                result = evaluate(ws, model, suite=suite, progress=progress)
                emit(result.to_dict(), json, lambda out: _print_eval(out, result))
                return
            comparison = evaluate_pair(ws, model, against, suite=suite, progress=progress)

        def render(out) -> None:
            _print_eval(out, comparison.candidate)
            _print_comparison(out, comparison)

        emit(comparison.to_dict(), json, render)

    @app.command("promote", epilog="Example: loopwright promote model/triage@2")
    def promote_(
        model: Annotated[str, typer.Argument(help="The candidate triage model.")],
        against: AgainstOpt = None,
        canary: Annotated[float, typer.Option(min=0.01, max=1.0, help="Canary share once the golden gate passes.")] = 0.1,
        suite: SuiteOpt = None,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Replace the incumbent triage model with MODEL only if its composite is significantly better and no critical
        metric regresses beyond its threshold (paired tests on the same items); write a signed release note; then the
        golden gate and a canary. A refused promotion prints why and exits 1."""
        ws = open_workspace(workspace)
        with step_progress(json, 10) as progress:
            done = promote(ws, model, against, canary=canary, suite=suite, progress=progress)

        def render(out) -> None:
            _print_comparison(out, done.comparison)
            out.print(f"release note {done.note.short}, signed; receipt {done.receipt.id}")
            if done.release:
                rel = done.release
                out.print(f"release {rel['id']} on {rel['slot']}: {rel['state']}"
                          + (f" at {rel['share']:.0%}" if rel["state"] == "canary" else ""))

        emit(done.to_dict(), json, render)
        if done.comparison.decision == "refuse" or (done.release and done.release["state"] == "rejected"):
            if not json:
                typer.echo(f"error: {done.comparison.reason() if done.comparison.decision == 'refuse' else 'the golden gate rejected it'}", err=True)
            raise typer.Exit(1)
