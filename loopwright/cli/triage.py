"""`loopwright triage`: fit the intent classifier and try it on a text."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.cli.release import print_release_outcome
from loopwright.release.releases import release_new_artifact
from loopwright.serving.triage import SLOT, TriageModel
from loopwright.training import triage

app = typer.Typer(help="The intent classifier: MiniLM embeddings plus a calibrated logistic-regression head.", no_args_is_help=True)


@app.command(epilog="Example: loopwright triage fit --seed 0 --no-deploy")
def fit(
    dataset: Annotated[str, typer.Option(help="Dataset artifact with utterances.jsonl (text, intent, language).")] = triage.DEFAULT_DATASET,
    seed: Annotated[int, typer.Option(help="Salts the hash that splits texts into train, validation and test.")] = 0,
    c: Annotated[float, typer.Option("--c", help="Inverse L2 regularisation strength of the head.")] = triage.TriageConfig.c,
    deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help=f"Release the model on slot {SLOT}: golden gate, then canary (`release start`).")] = True,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse a head fitted before on the same inputs (see LOOPWRIGHT_CACHE_DIR).")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Fit the triage model on a dataset; print accuracy and calibration error per language on the held-out split."""
    ws = open_workspace(workspace)
    result = triage.fit_triage(ws, dataset, triage.TriageConfig(seed=seed, c=c), use_cache=cache)
    overall = result.metrics["overall"]
    reason = f"triage fit: test accuracy {overall['accuracy']:.3f}, ECE {overall['ece']:.3f}"
    release = release_new_artifact(ws, SLOT, result.artifact.ref, reason=reason) if deploy else None

    def render(console):
        m = result.metrics
        table = Table("language", "n", "accuracy", "ECE (T=1)", f"ECE (T={m['temperature']:.2f})", title="held-out test split")
        rows = [*sorted(m["by_language"].items()), ("all", m["overall"])]
        for language, s in rows:
            table.add_row(language, str(s["n"]), f"{s['accuracy']:.3f}", f"{s['ece_uncalibrated']:.3f}", f"{s['ece']:.3f}")
        console.print(table)
        how = "from the cache" if result.cache_hit else "fitted"
        console.print(f"{result.artifact.short}  {how} in {result.seconds:.1f} s")
        if deploy:
            print_release_outcome(console, SLOT, release)

    emit({**result.to_dict(), "release": release}, json, render)
    if release is not None and release["state"] == "rejected":
        raise typer.Exit(1)


@app.command(epilog='Example: loopwright triage predict "I lost my card yesterday"')
def predict(
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    model: Annotated[str | None, typer.Option(help=f"A model artifact ref; default: the one live on {SLOT}.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Triage one text: intent, calibrated confidence, the top three intents and the top-two margin."""
    ws = open_workspace(workspace)
    loaded = TriageModel.load(ws, model) if model else TriageModel.deployed(ws)
    result = loaded.predict([text])[0]

    def render(console):
        console.print(f"[bold]{result.intent}[/bold]  confidence {result.confidence:.3f}  margin {result.margin:.3f}")
        for intent, p in result.top:
            console.print(f"  {intent:<20} {p:.3f}")
        console.print(f"model {loaded.artifact.short}")

    emit({**result.to_dict(), "model": loaded.artifact.ref, "digest": loaded.artifact.digest}, json, render)
