"""Simulated customers through the real request path, judged, with the verdict fed back as feedback.

The demo's "customers" are `loopwright simulate` requests. Each answer is judged
against the facts its request expects (the same judge the goldens use), and
the verdict goes back on the trace as thumbs feedback, as a real customer's
would: so every accuracy and cost figure is recomputable from stored traces.
Requests run one after another, in the stream's order, so a seed gives the
same routing, cache and canary decisions every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from loopwright.learning.feedback import record_feedback
from loopwright.release.judge import Observed, judge
from loopwright.samples.bank.simulate import simulate
from loopwright.serving.pipeline import ChatRequest, Gateway


@dataclass(frozen=True)
class Served:
    """One simulated request as the demo's timeline and tables see it."""

    t: float
    phase: str
    request_id: str
    kind: str
    intent: str
    channel: str
    tier: str | None
    cache_hit: bool
    outcome: str
    accepted: bool  # the judge passed the answer
    flexpay: bool  # a FlexPay question with facts to check
    correct: bool | None  # for FlexPay questions: the facts were right
    latency_ms: float
    cost: float
    escalated: bool
    trace_id: str
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "failures"}


class Driver:
    """Feeds the simulated stream through a gateway, one phase's worth at a time."""

    def __init__(self, gateway: Gateway, seed: int, *, started: float | None = None):
        self.gateway = gateway
        self._stream: Iterator[dict[str, Any]] = simulate(10**7, seed)
        self.started = started if started is not None else time.monotonic()
        self.model = gateway.models()[0]
        self.served: list[Served] = []
        self.raw_pii: set[str] = set()  # every personal value the simulated customers typed

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next `n` simulated requests, to serve more than once (an A/B comparison on the same traffic)."""
        return [next(self._stream) for _ in range(n)]

    def run(self, n: int, phase: str, *, on_request: Callable[[], None] | None = None,
            requests: list[dict[str, Any]] | None = None) -> list[Served]:
        """Serve the next `n` requests (or `requests`), then write their traces and the judge's feedback."""
        batch, pending = [], []
        for request in requests if requests is not None else self.take(n):
            if request["kind"] == "pii":  # the values it typed: forbidden in the answer and present in the text
                self.raw_pii.update(v for v in request["expect"]["must_not_contain"] if v in request["text"])
            role = "agent" if request["tenant"].endswith("staff") else "customer"
            principal = self.gateway.principal_for(request["tenant"], role, request["customer_id"], key_id="demo")
            completion = self.gateway.complete(
                ChatRequest(self.model, [{"role": "user", "content": request["text"]}], user=request["customer_id"]),
                principal,
            )
            trace = completion.trace
            verdict = judge(request["expect"], Observed.from_trace(trace))
            flexpay = request["intent"] == "flexpay" and bool(request["expect"]["must_contain"])
            served = Served(
                t=round(time.monotonic() - self.started, 3),
                phase=phase,
                request_id=request["id"],
                kind=request["kind"],
                intent=request["intent"],
                channel=trace.channel,
                tier=trace.tier,
                cache_hit=trace.cache.hit,
                outcome=trace.outcome,
                accepted=verdict.passed,
                flexpay=flexpay,
                correct=verdict.passed if flexpay else None,
                latency_ms=trace.latency_ms,
                cost=trace.cost or 0.0,
                escalated=trace.escalated,
                trace_id=completion.trace_id,
                failures=tuple(verdict.failures),
            )
            batch.append(served)
            pending.append((completion.trace_id, request["tenant"], verdict))
            if on_request:
                on_request()
        self.gateway.writer.flush()
        for trace_id, tenant, verdict in pending:
            record_feedback(
                self.gateway.ws, trace_id, tenant=tenant, thumbs=1 if verdict.passed else -1,
                text="judge: " + ("; ".join(verdict.failures) or "all expected facts present"), consent=True,
            )
        self.served.extend(batch)
        return batch


def summarise(rows: list[Served]) -> dict[str, Any]:
    """Accuracy, latency, cost per accepted answer, escalation and cache-hit rates over `rows`."""
    if not rows:
        return {"requests": 0}
    latency = np.array([r.latency_ms for r in rows])
    accepted = sum(r.accepted for r in rows)
    flexpay = [r for r in rows if r.flexpay]
    cost = sum(r.cost for r in rows)
    return {
        "requests": len(rows),
        "accepted_rate": accepted / len(rows),
        "flexpay_questions": len(flexpay),
        "flexpay_accuracy": (sum(bool(r.correct) for r in flexpay) / len(flexpay)) if flexpay else None,
        "flexpay_accuracy_ci95": _wilson(sum(bool(r.correct) for r in flexpay), len(flexpay)),
        "latency_p50_ms": float(np.percentile(latency, 50)),
        "latency_p95_ms": float(np.percentile(latency, 95)),
        "total_cost": cost,
        "cost_per_accepted": cost / accepted if accepted else None,
        "escalation_rate": sum(r.escalated for r in rows) / len(rows),
        "cache_hit_rate": sum(r.cache_hit for r in rows) / len(rows),
        "decline_rate": sum(r.outcome == "declined" for r in rows) / len(rows),
    }


def _wilson(successes: int, n: int) -> list[float] | None:
    """The 95% Wilson interval of a proportion: how far a figure from `n` questions can be trusted."""
    if not n:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]
