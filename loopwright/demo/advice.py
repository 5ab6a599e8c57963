"""The lever advisor at the start of each phase: what the observed traffic says, and whether the story pulls that lever.

Each phase that pulls a lever first observes, then asks `loopwright advise`
(the same library call) and acts on the answer:

    inference_first, economics   the live traffic: the calls since the last canary ended, so neither a
                                 candidate's traffic nor a previous deployment's is read
    self_learning                the call centre's grace and dispute calls, with the agents' labels
    training                     the quarter's questions in en, es and vi, with the agents' labels
                                 (`loopwright.demo.observation`)

The recommendation is printed, recorded as an `advisor.call` receipt (the
console's Advisor page lists them) and put on the phase's card. The phase
follows it when the advisor's first lever is the one the phase pulls, and
takes what it changes from the finding where the finding names it (the pages
to certify). When the advisor puts another lever first, the line says so in
plain words and the phase still runs the case study's step, because the
report says what happened, not what should have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from loopwright.observe.advisor import Advice, advise, record_call

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


def consult(ctx: DemoContext, phase: str, calls: Sequence[str] | None = None) -> Advice:
    """Ask the advisor before `phase` pulls its lever, over the trace ids `calls` (default: the live traffic);
    print the call, record it (a receipt, the phase's card, a table row) and whether the phase follows it."""
    levers = PHASE_LEVERS[phase]
    rows = live_traffic(ctx.driver.served) if calls is None else None
    ids = [r.trace_id for r in rows] if rows is not None else list(calls or ())
    advice = advise(ctx.ws, ids=ids)
    followed = advice.lever in levers
    # where the phase's own lever stands among the findings, when it is not the first (None: not found at all)
    rank = next((i + 1 for i, f in enumerate(advice.findings) if f.lever in levers), None)
    receipt = record_call(ctx.ws, advice, ids, asked_by=f"demo: phase {phase}", planned=levers)
    shown = (advice.lever or "none") + ("" if followed or rank is None else f" (the phase's {advice.findings[rank - 1].lever}: finding {rank})")
    ctx.row(phase, "advisor's lever", shown, "", target=" or ".join(levers), met=followed, receipts=[receipt.id])
    ctx.table[-1]["trace_ids"] = ids
    ctx.advice[phase] = {**advice.to_dict(), "followed": followed, "phase_levers": list(levers), "phase_lever_rank": rank,
                         "receipt_id": receipt.id}
    ctx.event(phase, f"advisor: {advice.lever or 'no finding'} over {advice.calls} calls", receipt.id)
    top = advice.findings[0] if advice.findings else None
    said = (f"[bold]{top.lever}[/bold] ({top.stage}): {escape(top.title)}; evidence: {escape(_evidence(top.evidence))}; "
            f"run: {escape(top.command)}") if top else "no finding"
    ctx.say(f"advisor, over {advice.calls} calls: {said}"
            + ("; the phase follows it" if followed else
               f" [red]The advisor does not recommend this phase's {' or '.join(levers)} first"
               + (f" (it is its finding {rank})" if rank else " (it is not among its findings)")
               + ": the phase runs the case study's step anyway, against the advice.[/red]"))
    return advice


def advised(advice: Advice, lever: str, key: str, default: Any) -> Any:
    """What the advisor's first finding names under `key` when it recommends `lever` (the pages to certify, say);
    `default`, the case study's choice, when it recommends something else or names nothing."""
    top = advice.findings[0] if advice.findings else None
    return (top.evidence.get(key) or default) if top is not None and top.lever == lever else default


def _evidence(evidence: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in evidence.items() if v not in (None, [], {}, ""))
