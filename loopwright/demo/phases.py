"""The demo's phases: each one step of the Larkspur story, run through the same code a user runs.

A phase takes the `DemoContext`, drives simulated traffic, ships changes
through the release plane, and records what it measured: a summary, metrics,
table rows with the trace and receipt ids behind each figure, and events for
the timeline. Nothing is scripted to a figure: the report says what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loopwright.demo.formatting import percent
from loopwright.corpus import commits
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.release.switch import switch_under_load
from loopwright.samples.bank.questions import LOAD_QUESTIONS
from loopwright.demo.advice import advised, consult
from loopwright.demo.canary import receipt_ids as _receipt_ids, release as _release
from loopwright.demo.traffic import Driver, Served, summarise
from loopwright.demo.training import training
from loopwright.demo.outcomes import outcomes
from loopwright.serving.pipeline import Gateway
from loopwright.workspace import Workspace

FLEXPAY_DOCS = ("flexpay-2-0", "flexpay-2-0-es", "flexpay-2-0-vi")


@dataclass
class Sizes:
    """Requests per part of the story; `quick` shrinks them for a smoke run."""

    baseline: int = 300
    after: int = 1000  # about 80 FlexPay questions: the accuracy figure then carries a 95% interval of about ±7 points
    canary_share: float = 0.1
    canary_batch: int = 150
    canary_max: int = 4000
    economics: int = 400
    live_seconds: float = 3.0
    week3: int = 600  # the call centre's grace and dispute questions (all 600 of the sample's)
    quarter: int = 150  # questions per language the training phase observes before it consults the advisor
    adapter_epochs: int = 2
    forgetting_per_intent: int | None = None  # held-out texts per intent forgetting is measured on (None: all 120)
    train_steps: int | None = None  # caps the training phase's recipe (None: the whole recipe)

    @classmethod
    def quick(cls) -> Sizes:
        """A smoke run: canaries start at 50% so the analysis reaches its minimum sample in a few hundred requests."""
        return cls(baseline=80, after=80, canary_share=0.5, canary_batch=100, canary_max=900, economics=100, live_seconds=1.5,
                   week3=200, quarter=100, adapter_epochs=1, forgetting_per_intent=30, train_steps=20)


@dataclass
class DemoContext:
    ws: Workspace
    gateway: Gateway
    driver: Driver
    sizes: Sizes
    progress: Callable[[str, int], Callable[[], None]]  # (label, total) -> advance
    phases: list[dict[str, Any]] = field(default_factory=list)
    table: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[Served]] = field(default_factory=dict)  # the traffic each comparison reads, by name
    advice: dict[str, dict[str, Any]] = field(default_factory=dict)  # phase -> the advisor's findings before it
    say: Callable[[str], None] = lambda _line: None  # a line for the operator watching (the terminal, in `loopwright demo`)

    def now(self) -> float:
        return round(time.monotonic() - self.driver.started, 3)

    def event(self, phase: str, label: str, receipt_id: str | None = None) -> None:
        self.events.append({"t": self.now(), "phase": phase, "label": label, "receipt_id": receipt_id})

    def row(self, phase: str, metric: str, value, unit: str, *, target: str | None = None, met: bool | None = None,
            traces: list[Served] | None = None, receipts: list[str] | None = None) -> None:
        self.table.append({
            "phase": phase, "metric": metric, "value": value, "unit": unit, "target": target, "met": met,
            "trace_ids": [s.trace_id for s in traces or []], "receipt_ids": list(receipts or []),
        })

    def serve(self, n: int, phase: str, label: str, requests: list[dict[str, Any]] | None = None) -> list[Served]:
        n = len(requests) if requests is not None else n
        return self.driver.run(n, phase, on_request=self.progress(label, n), requests=requests)


def baseline(ctx: DemoContext) -> None:
    start = ctx.now()
    rows = ctx.serve(ctx.sizes.baseline, "baseline", "baseline traffic")
    ctx.samples["baseline"] = rows
    m = summarise(rows)
    flex = [r for r in rows if r.flexpay]
    ctx.row("baseline", "FlexPay accuracy", m["flexpay_accuracy"], "%", traces=flex)
    ctx.row("baseline", "accepted answers", m["accepted_rate"], "%", traces=rows)
    ctx.row("baseline", "latency p50", m["latency_p50_ms"], "ms", traces=rows)
    ctx.row("baseline", "latency p95", m["latency_p95_ms"], "ms", traces=rows)
    ctx.row("baseline", "cost per accepted answer", m["cost_per_accepted"], "$", traces=rows)
    ctx.phases.append({
        "name": "baseline", "title": "Baseline", "start_t": start, "end_t": ctx.now(), "metrics": m,
        "summary": f"{m['requests']} simulated requests against the starting deployment (FlexPay 2.0 uncertified, "
                   f"every question on the large tier, no cache). FlexPay accuracy {percent(m['flexpay_accuracy'])}, "
                   f"accepted {percent(m['accepted_rate'])}.",
        "trace_ids": [r.trace_id for r in rows], "receipt_ids": [],
    })


def inference_first(ctx: DemoContext) -> None:
    """Week 1: fix what the assistant reads, not the model: certify FlexPay 2.0 and ship it as a corpus release."""
    start = ctx.now()
    advice = consult(ctx, "inference_first")
    before = summarise([r for r in ctx.driver.served if r.phase == "baseline"])
    for doc in advised(advice, "corpus", "waiting_for_certification", FLEXPAY_DOCS):
        commits.stage_certify(ctx.ws, doc)
    commit = commits.commit(ctx.ws, "Certify FlexPay 2.0 (en, es, vi); freshness and decline-if-stale stay on")
    ctx.event("inference_first", f"corpus commit {commit.ref}", _receipt_ids(ctx.ws, commit.ref)[-1])
    outcome = _release(ctx, "inference_first", "corpus", commit.ref, reason="FlexPay 2.0 certified")
    after_rows = ctx.serve(ctx.sizes.after, "inference_first", "after the corpus release") if outcome["state"] == "promoted" else []
    ctx.samples["FlexPay 2.0 certified"] = after_rows
    after = summarise(after_rows)
    flex = [r for r in after_rows if r.flexpay]
    gate = outcome["gate"] or {}
    ctx.row("inference_first", "golden gate", bool(gate.get("ok")), "", target="pass", met=bool(gate.get("ok")), receipts=outcome["receipts"][:1])
    ctx.row("inference_first", "release outcome", outcome["state"], "", target="promoted", met=outcome["state"] == "promoted",
            traces=outcome["served"], receipts=outcome["receipts"])
    ctx.row("inference_first", "FlexPay accuracy before", before["flexpay_accuracy"], "%",
            traces=[r for r in ctx.driver.served if r.phase == "baseline" and r.flexpay])
    ctx.row("inference_first", "FlexPay accuracy after", after.get("flexpay_accuracy"), "%", target=">= 90%",
            met=(after.get("flexpay_accuracy") or 0) >= 0.9, traces=flex)
    interval = _interval(after.get("flexpay_accuracy_ci95"))
    ctx.row("inference_first", "FlexPay accuracy after, 95% interval", interval and f"{interval} ({len(flex)} questions)", "",
            traces=flex)
    ctx.row("inference_first", "latency p50 after", after.get("latency_p50_ms"), "ms", traces=after_rows)
    ctx.phases.append({
        "name": "inference_first", "title": "Inference first: certify FlexPay 2.0", "start_t": start, "end_t": ctx.now(),
        "metrics": {"before": before, "after": after, "release": {k: outcome[k] for k in ("release", "state")}},
        "summary": f"Corpus commit {commit.ref} certified the FlexPay 2.0 documents. The golden gate "
                   f"{'passed' if gate.get('ok') else 'failed'} ({len(gate.get('fixed', []))} goldens fixed, "
                   f"{len(gate.get('regressions', []))} regressions); the {ctx.sizes.canary_share:.0%} canary ended {outcome['state']} after "
                   f"{len(outcome['served'])} requests. FlexPay accuracy {percent(before['flexpay_accuracy'])} -> "
                   f"{percent(after.get('flexpay_accuracy'))} over {after.get('flexpay_questions', 0)} FlexPay questions "
                   f"(95% interval {_interval(after.get('flexpay_accuracy_ci95')) or 'n/a'}).",
        "trace_ids": [r.trace_id for r in outcome["served"] + after_rows], "receipt_ids": outcome["receipts"],
    })


def incident(ctx: DemoContext) -> None:
    """A mis-dated old savings table: caught by the gate, rolled back by the canary, then by hand under live load."""
    start = ctx.now()
    ws = ctx.ws
    slots_before = {s: st.stable.digest for s, st in get_deployment(ws).slots.items() if st.stable}
    good = get_deployment(ws).stable("corpus")
    commits.stage_add(ws, [ws.root / "bank" / "incident" / "savings-rates-2025-03.md"])
    bad = commits.commit(ws, "Import savings rate sheet (re-export)")
    gated = _release(ctx, "incident", "corpus", bad.ref, reason="savings rate sheet re-export")
    gate = gated["gate"] or {}
    ctx.row("incident", "gate caught the bad commit", gated["state"] == "rejected", "", target="rejected", met=gated["state"] == "rejected",
            receipts=gated["receipts"])
    forced = _release(ctx, "incident", "corpus", bad.ref, skip_gate=True, reason="demo: force it past the gate", share=0.5)
    ctx.samples["stale savings table (canary)"] = [r for r in forced["served"] if r.channel == "canary"]
    detected = forced["state"] == "rolled_back"
    detect_s = forced.get("seconds") if detected else None  # None: the analysis never saw a regression
    ctx.row("incident", "canary rolled back by itself", detected, "", target="rolled_back",
            met=detected, traces=forced["served"], receipts=forced["receipts"])
    ctx.row("incident", "time to detect (canary)", detect_s, "s", traces=forced["served"], receipts=forced["receipts"][-1:])
    ctx.row("incident", "requests until detected" if detected else f"requests while the canary ran ({forced['state']})",
            len(forced["served"]), "", traces=forced["served"])

    # Straight onto stable, then `rollback corpus` by hand while 32 clients hammer a live server.
    receipt = set_stable(ws, "corpus", bad.ref, reason="demo: forced straight onto stable, ungated (an operator's mistake)")
    ctx.event("incident", f"{bad.ref} put straight on stable", receipt.id)
    live = _rollback_under_load(ctx, bad.digest, good.digest)
    ctx.event("incident", "rollback corpus (by hand, under load)", live["receipt"])
    ctx.row("incident", "rollback took effect in", live["effect_s"], "s", target="< 1 s", met=live["effect_s"] < 1.0, receipts=[live["receipt"]])
    ctx.row("incident", "failed requests during the switch", live["failed"], "", target="0", met=live["failed"] == 0)
    ctx.row("incident", "requests served during the switch", live["requests"], "")
    slots_after = {s: st.stable.digest for s, st in get_deployment(ws).slots.items() if st.stable}
    untouched = [s for s in slots_before if s != "corpus" and slots_after.get(s) == slots_before[s]]
    changed = [s for s in slots_before if s != "corpus" and slots_after.get(s) != slots_before[s]]
    ctx.row("incident", "other slots unchanged", not changed, "", target="prompt, adapter, model untouched", met=not changed,
            receipts=_receipt_ids(ws, "slot/corpus"))
    ctx.phases.append({
        "name": "incident", "title": "Incident: a stale savings table", "start_t": start, "end_t": ctx.now(),
        "metrics": {"gate": {k: gate.get(k) for k in ("ok", "regressions", "fixed")}, "forced": {k: forced[k] for k in ("state", "actions")},
                    "live_rollback": live, "untouched_slots": untouched},
        "summary": f"{bad.ref} brought in the March 2025 rate sheet, mis-dated at export so freshness filters passed it. "
                   f"The golden gate {'rejected' if gated['state'] == 'rejected' else 'did not reject'} it "
                   f"({len(gate.get('regressions', []))} critical regressions). Forced onto a 50% canary it ended "
                   f"{forced['state']} after {len(forced['served'])} requests"
                   f"{f' ({detect_s} s)' if detected else ': the analysis found no significant regression at that sample'}. Put straight on stable, "
                   f"`rollback corpus` took effect in {live['effect_s']:.2f} s with {live['failed']} failed requests out of "
                   f"{live['requests']}; slots left untouched: {', '.join(untouched)}.",
        "trace_ids": [r.trace_id for r in forced["served"]], "receipt_ids": gated["receipts"] + forced["receipts"] + [live["receipt"]],
    })


def _rollback_under_load(ctx: DemoContext, bad: str, good: str) -> dict[str, Any]:
    """32 clients against a `loopwright serve` process; `rollback corpus` mid-load."""
    from loopwright.server.process import ServeProcess
    from loopwright.serving.auth import create_key

    key, _ = create_key(ctx.ws, tenant="larkspur-retail", role="customer", scopes=("retail",))
    with ServeProcess(ctx.ws.root) as server:
        result = switch_under_load(
            server.url, key, ctx.gateway.models()[0],
            lambda: releases.rollback(ctx.ws, "corpus", to=good, reason="demo: stale savings table on stable"),
            questions=LOAD_QUESTIONS, before_s=ctx.sizes.live_seconds, after_s=ctx.sizes.live_seconds,
        )
    ctx.gateway.watcher.refresh()
    return {
        "receipt": result.outcome.id,
        "requests": len(result.requests),
        "failed": result.failed,
        "effect_s": round(result.took(bad), 3),
        "served_good_after": sum(commit == good for commit in result.served_after(0.0)),
    }


def _interval(ci: list[float] | None) -> str | None:
    return None if ci is None else f"{ci[0]:.1%} to {ci[1]:.1%}"


from loopwright.demo.economics import economics  # noqa: E402  these import DemoContext from here for their types only
from loopwright.demo.self_learning import self_learning  # noqa: E402

PHASES: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("baseline", baseline),
    ("inference_first", inference_first),
    ("economics", economics),
    ("self_learning", self_learning),
    ("incident", incident),
    ("training", training),
    ("outcomes", outcomes),
]
