"""`loopwright data`: prepare a dataset artifact from a typed TOML recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace, step_progress
from loopwright.training.data.card import summary
from loopwright.training.data.prepare import prepare_dataset
from loopwright.training.data.splits import SPLITS

app = typer.Typer(help="Training data: dedup, toxicity and PII filters, balancing, curriculum, leak-free splits.",
                  no_args_is_help=True)


@app.command(epilog="Example: loopwright data prepare bank/config/recipes/multilingual.toml")
def prepare(
    recipe: Annotated[Path, typer.Argument(help="A data recipe (TOML): sources with licence, provenance, consent and "
                                           "sensitivity, then the dedup, toxicity, pii, balancing, curriculum and splits "
                                           "tables. Every field: README, 'Training data'.")],
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse files prepared before from the same recipe, sources and model.")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make a dataset artifact from RECIPE and print its data card: rows in and out per step and why, per split and language."""
    ws = open_workspace(workspace)
    with step_progress(json) as progress:
        result = prepare_dataset(ws, recipe, progress=progress, use_cache=cache)

    def render(out) -> None:
        card = result.card
        steps = Table("step", "in", "out", "why", title=f"dataset/{card['dataset']}: steps")
        for s in card["steps"]:
            steps.add_row(s["step"], str(s["in"]), str(s["out"]), summary(s["reasons"]))
        out.print(steps)
        languages = sorted({lang for b in card["splits"].values() for lang in b["by_language"]})
        splits = Table("split", "rows", *languages, title="splits")
        for name in SPLITS:
            b = card["splits"][name]
            splits.add_row(name, str(b["rows"]), *(str(b["by_language"].get(x, 0)) for x in languages))
        out.print(splits)
        how = "from the cache" if result.cache_hit else "prepared"
        out.print(f"{result.artifact.short}  {how} in {result.seconds:.1f} s  (card.md, manifest.json in the artifact)")

    emit(result.to_dict(), json, render)
