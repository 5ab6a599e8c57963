"""`loopwright demo`: replay the Larkspur Bank story through the real system and report what was measured."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, console


def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Folder for the demo's workspace (recreated on each run).")] = Path("loopwright-demo"),
    quick: Annotated[bool, typer.Option("--quick", help="Fewer requests per phase: a smoke run in about a minute.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated traffic; the same seed gives the same decisions.")] = 7,
    json: JsonOpt = False,
) -> None:
    """Baseline, inference first, economics, an incident and a governance check, on simulated traffic; writes
    results.json and report.html in the workspace."""
    import io

    from rich.console import Console

    from loopwright.demo.run import run_demo

    out = Console(file=io.StringIO()) if json else console
    results = run_demo(workspace, quick=quick, seed=seed, console=out)
    if json:
        import json as jsonlib
        import sys

        sys.stdout.write(jsonlib.dumps({k: results[k] for k in ("seed", "quick", "workspace", "duration_s", "table")}, indent=2, default=str) + "\n")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright demo --quick --seed 7")(demo)
