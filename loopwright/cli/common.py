"""What every command shares: the --workspace and --json options, and how results are printed
(a rich rendering for people, or exactly one JSON document with --json)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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
