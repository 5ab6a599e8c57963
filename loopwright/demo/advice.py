"""The lever advisor at the start of each phase: what the live traffic says, and whether the story pulls that lever.

Before a phase that pulls a lever, the demo asks `loopwright advise` (the same
library call) about the traffic served under the deployment now live: the
calls since the last canary ended, so neither a candidate's traffic nor a
previous deployment's is read. The recommendation is printed, put on the
phase's card, and checked: the phase follows it when the advisor's first
lever is the one the phase pulls. When it is not, the row says so in red and
the phase still runs, because the report says what happened, not what should
have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from loopwright.observe.advisor import Advice, advise

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext
    from loopwright.demo.traffic import Served

# The lever each phase pulls, as the advisor names it (economics ships the router and the cache together).
PHASE_LEVERS: dict[str, tuple[str, ...]] = {
    "inference_first": ("corpus",),
    "economics": ("router", "cache"),
    "self_learning": ("adapter",),
    "training": ("training",),
}


def live_traffic(served: Sequence[Served]) -> list[Served]:
    """The calls served since the last canary call: all of them under the deployment live now."""
    last_canary = max((i for i, s in enumerate(served) if s.channel != "stable"), default=-1)
    return list(served[last_canary + 1:])


def consult(ctx: DemoContext, phase: str) -> Advice | None:
    """Ask the advisor before `phase`, record whether the phase follows it; None for a phase that pulls no lever."""
    levers = PHASE_LEVERS.get(phase)
    if levers is None:
        return None
    rows = live_traffic(ctx.driver.served)
    advice = advise(ctx.ws, ids=[r.trace_id for r in rows])
    followed = advice.lever in levers
    # where the phase's own lever stands among the findings, when it is not the first (None: not found at all)
    rank = next((i + 1 for i, f in enumerate(advice.findings) if f.lever in levers), None)
    shown = (advice.lever or "none") + ("" if followed or rank is None else f" (the phase's {advice.findings[rank - 1].lever}: finding {rank})")
    ctx.row(phase, "advisor's lever", shown, "", target=" or ".join(levers), met=followed, traces=rows)
    ctx.advice[phase] = {**advice.to_dict(), "followed": followed, "phase_levers": list(levers), "phase_lever_rank": rank}
    top = advice.findings[0] if advice.findings else None
    ctx.say(f"advisor, over {advice.calls} live calls: "
            + (f"[bold]{top.lever}[/bold] ({top.stage}): {escape(top.title)}; run: {escape(top.command)}" if top else "no finding")
            + ("" if followed else f" [red](the phase pulls {' or '.join(levers)}: "
               + (f"the advisor's finding {rank})[/red]" if rank else "not among its findings)[/red]")))
    return advice
