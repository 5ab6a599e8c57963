"""What every command shares: the --workspace and --json options, and how results are printed
(a rich rendering for people, or exactly one JSON document with --json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from loopwright.workspace import Workspace, find_workspace

console = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder. Default: $LOOPWRIGHT_WORKSPACE, else the current folder or the nearest above it.",
        show_default=False,
    ),
]


def emit(data: Any, as_json: bool, render: Callable[[Console], None]) -> None:
    """Print `data` as JSON, or call `render` to show it to a person."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        render(console)


def open_workspace(workspace: str | None) -> Workspace:
    """The workspace a command acts on (see `find_workspace`)."""
    return find_workspace(workspace)


@contextmanager
def training_progress(label: str, quiet: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A rich progress bar fed by training's (step, total, loss) callback; none with --json."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, loss="-")
        yield lambda step, total, loss: bar.update(task, completed=step, total=total, loss=f"{loss:.3f}")


@contextmanager
def step_progress(quiet: bool, width: int = 12) -> Iterator[Callable[[str, int, int], None] | None]:
    """One rich progress bar per step, fed by a library's (step, done, total) callback; none with --json."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(f"{{task.description:<{width}}}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bars:
        tasks: dict[str, int] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bars.add_task(step, total=total)
            bars.update(tasks[step], completed=done, total=total)

        yield update
