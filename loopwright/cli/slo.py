"""`loopwright slo`: each service-level objective, its status, error budget and burn-rate alerts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.observe import slo as slos


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def register(app: typer.Typer) -> None:
    @app.command("slo", epilog="Example: loopwright slo --alert --json")
    def slo(
        alert: Annotated[bool, typer.Option("--alert", help="Also open and resolve burn-rate alerts, telling the policy's webhook.")] = False,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """The live policy's objectives over their window: the SLI, whether it is met, the error budget left,
        and the burn rate in each alert window (objectives live in the policy's [slo] section)."""
        ws = open_workspace(workspace)
        notices = slos.check_alerts(ws) if alert else []
        statuses = slos.evaluate(ws)
        firing = slos.open_alerts(ws)

        def render(console):
            if not statuses:
                console.print("no objectives: add [slo.objectives.NAME] to the policy")
                return
            table = Table("objective", "sli", "target", "now", "calls", "met", "budget left", "burn (long/short)")
            for s in statuses:
                burns = ", ".join(f"{w.name}s: {w.burn_long:.1f}/{w.burn_short:.1f}{' FIRING' if w.firing else ''}" for w in s.windows)
                table.add_row(s.name, s.sli + (f" < {s.threshold_ms:g} ms" if s.threshold_ms else ""), _pct(s.target),
                              _pct(s.value), str(s.total), "yes" if s.met else "[red]no[/red]", _pct(s.budget_left), burns)
            console.print(table)
            for n in notices:
                console.print(f"alert {n.state}: {n.objective} over {n.window}s (burn {n.burn_long}/{n.burn_short}, threshold {n.threshold})")
            if firing:
                console.print(f"{len(firing)} alert(s) open")

        emit({"objectives": [s.to_dict() for s in statuses], "changes": [n.__dict__ for n in notices],
              "open_alerts": firing}, json, render)
