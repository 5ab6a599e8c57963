"""`loopwright advise`: which lever the traffic calls for (inference, self-learning or training), with the evidence."""

from __future__ import annotations

from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.observe.advisor import advise as advise_traffic


def register(app: typer.Typer) -> None:
    @app.command("advise", epilog="Example: loopwright advise --since 2026-11-22T00:00:00Z --json")
    def advise(
        since: Annotated[str | None, typer.Option(help="Only calls from this time (ISO-8601).")] = None,
        until: Annotated[str | None, typer.Option(help="Only calls before this time (ISO-8601).")] = None,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Segment defects, declines, cost and cache misses by document, intent, language and tier, and
        recommend one lever per finding, cheapest stage first (thresholds: the policy's [advisor])."""
        advice = advise_traffic(open_workspace(workspace), since=since, until=until)

        def render(console):
            console.print(f"{advice.calls} calls, defect rate {advice.defect_rate:.1%}")
            if not advice.findings:
                console.print("nothing to change: no segment stands out")
            for n, f in enumerate(advice.findings, 1):
                console.print(f"\n{n}. [bold]{f.lever}[/bold] ({f.stage}): {f.title}")
                console.print("   evidence: " + ", ".join(f"{k}={v}" for k, v in f.evidence.items()))
                console.print(f"   expected: {f.expected}")
                console.print(f"   run: {f.command}")

        emit(advice.to_dict(), json, render)
