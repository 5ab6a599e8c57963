"""`loopwright train RECIPE`: train a model from a typed TOML recipe, in one process, under torchrun or on Ray."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, console, emit, open_workspace
from loopwright.training.jobs import train_model
from loopwright.training.loop import Progress


@contextmanager
def _bar(quiet: bool) -> Iterator[Progress | None]:
    """A rich progress bar fed by rank 0's progress lines: step, loss, examples/s and tokens/s; none with --json."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, TimeRemainingColumn

    with Bars(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
              TextColumn("{task.fields[speed]}"), TimeRemainingColumn(), console=console, transient=True) as bars:
        task = bars.add_task("train", total=None, loss="-", speed="")

        def update(line: dict[str, Any]) -> None:
            speed = f"{line['examples_per_s']:.1f} ex/s {line['tokens_per_s']:.0f} tok/s"
            bars.update(task, completed=line["step"], total=line["total"], loss=f"{line['loss']:.4f}", speed=speed)

        yield update


def train(
    recipe: Annotated[Path, typer.Argument(help="A train recipe (TOML): the data, tokenizer, model (base or config), objective, "
                                           "optimizer, schedule and training tables. Every field: README, 'Training a model'.")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue the same job (same recipe and inputs) from its last checkpoint.")] = False,
    launcher: Annotated[str, typer.Option(help="local (this process), torchrun (DDP, gloo) or ray (Ray Train's TorchTrainer).")] = "local",
    nproc: Annotated[int, typer.Option(help="Processes for torchrun, workers for ray.")] = 2,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse files trained before from the same recipe, data and base.")] = True,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Train a model artifact from RECIPE and print its held-out metrics, throughput and job receipt."""
    ws = open_workspace(workspace)
    with _bar(json) as progress:
        result = train_model(ws, recipe, launcher=launcher, nproc=nproc, resume=resume, use_cache=cache, progress=progress)  # type: ignore[arg-type]

    def render(out) -> None:
        metrics = result.result.get("metrics", {})
        if "by_language" in metrics:
            table = Table("language", "n", "accuracy", "ECE", title="held-out test split")
            for language, m in [*sorted(metrics["by_language"].items()), ("all", metrics["overall"])]:
                table.add_row(language, str(m["n"]), f"{m['accuracy']:.3f}", f"{m['ece']:.3f}")
            out.print(table)
        elif metrics.get("loss") is not None:
            out.print(f"validation loss {metrics['loss']:.4f}")
        r = result.result
        how = "from the cache" if result.cache_hit else f"trained ({r.get('launcher')}, {r['world_size']} process(es))"
        resumed = f", resumed at step {r['resumed_from']}" if r.get("resumed_from") else ""
        out.print(f"{result.artifact.short}  {how} in {result.seconds:.1f} s{resumed}; {r['steps']} steps, "
                  f"{r['examples_per_s']:.1f} examples/s, {r['tokens_per_s']:.0f} tokens/s; job {result.job_id}")

    emit(result.to_dict(), json, render)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright train bank/config/recipes/triage-train.toml --launcher torchrun")(train)
