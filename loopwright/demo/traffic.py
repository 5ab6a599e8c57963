"""Simulated customers through the real request path, judged, with the verdict fed back as feedback.

The demo's "customers" are `loopwright simulate` contacts, each carried on as a
conversation by `loopwright.samples.bank.customers.Customer`: confirmations,
follow-ups, rephrasings after a failed answer, hand-offs to a person, and a
come-back days later on the simulated clock. Every answer is judged against the
facts its message expects (the same judge the goldens use) and the verdict goes
back on the trace as thumbs feedback, as a real customer's would; the survey's
CSAT score goes on the conversation's last turn. So every accuracy, cost and
outcome figure is recomputable from stored traces (`Driver.clock` gives the
simulated time of each, for the outcome metrics). Conversations run one after
another, in the stream's order, so a seed gives the same routing, cache and
canary decisions every time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from loopwright.learning.feedback import record_feedback
from loopwright.release.judge import Observed, judge
from loopwright.samples.bank.customers import Customer
from loopwright.samples.bank.simulate import _World, simulate
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.pipeline import ChatRequest, Gateway


@dataclass(frozen=True)
class Served:
    """One simulated call (a turn of a conversation) as the demo's timeline and tables see it."""

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
    conversation: str = ""
    turn: int = 1
    sim_t: float = 0.0  # simulated seconds since the stream began (contacts hours apart, turns seconds, come-backs days)
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "failures"}


class Driver:
    """Feeds the simulated stream through a gateway, one phase's worth at a time."""

    def __init__(self, gateway: Gateway, seed: int, *, started: float | None = None):
        self.gateway = gateway
        self._stream: Iterator[dict[str, Any]] = simulate(10**7, seed)
        self._world = _World(DATA_DIR)
        self._rng = random.Random(f"customers-{seed}")
        self.started = started if started is not None else time.monotonic()
        self.model = gateway.models()[0]
        self.served: list[Served] = []
        self.clock: dict[str, float] = {}  # trace id -> simulated seconds
        self.raw_pii: set[str] = set()  # every personal value the simulated customers typed

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next `n` simulated contacts, to serve more than once (an A/B comparison on the same traffic)."""
        return [next(self._stream) for _ in range(n)]

    def run(self, n: int, phase: str, *, on_request: Callable[[], None] | None = None,
            requests: list[dict[str, Any]] | None = None) -> list[Served]:
        """Serve conversations from the next contacts until `n` calls are made (or every conversation opened by
        `requests`, however many calls they take), then write their traces, the judge's feedback and the surveys."""
        batch: list[Served] = []
        pending: list[tuple[str, str, Any, int | None]] = []
        contacts = iter(requests) if requests is not None else None
        while True:
            if contacts is not None:
                request = next(contacts, None)
                if request is None:
                    break
            elif len(batch) >= n:
                break
            else:
                request = next(self._stream)
            customer: Customer | None = Customer.of(request, self._world, self._rng)
            while customer is not None:
                self._converse(customer, phase, batch, pending, on_request)
                customer = customer.come_back()
        self.gateway.writer.flush()
        for trace_id, tenant, verdict, csat in pending:
            record_feedback(
                self.gateway.ws, trace_id, tenant=tenant, thumbs=1 if verdict.passed else -1, csat=csat,
                text="judge: " + ("; ".join(verdict.failures) or "all expected facts present"), consent=True,
            )
        self.served.extend(batch)
        return batch

    def _converse(self, customer: Customer, phase: str, batch: list[Served], pending: list, on_request) -> None:
        """One conversation, turn by turn, the full history sent each time as an OpenAI client sends it."""
        turn, conversation, messages, number = customer.opening(), None, [], 0
        while turn is not None:
            request, number = turn.request, number + 1
            if request["kind"] == "pii":  # the values it typed: forbidden in the answer and present in the text
                self.raw_pii.update(v for v in request["expect"]["must_not_contain"] if v in request["text"])
            role = "agent" if request["tenant"].endswith("staff") else "customer"
            principal = self.gateway.principal_for(request["tenant"], role, request["customer_id"], key_id="demo")
            messages = [*messages, {"role": "user", "content": request["text"]}]
            completion = self.gateway.complete(
                ChatRequest(self.model, messages, user=request["customer_id"], conversation=conversation,
                            confirm_token=turn.confirm_token),
                principal,
            )
            conversation = completion.loopwright["conversation_id"]
            messages = [*messages, {"role": "assistant", "content": completion.text}]
            trace = completion.trace
            verdict = judge(request["expect"], Observed.from_trace(trace))
            flexpay = request["intent"] == "flexpay" and bool(request["expect"]["must_contain"])
            self.clock[completion.trace_id] = turn.t
            batch.append(Served(
                t=round(time.monotonic() - self.started, 3), phase=phase, request_id=request["id"], kind=request["kind"],
                intent=request["intent"], channel=trace.channel, tier=trace.tier, cache_hit=trace.cache.hit,
                outcome=trace.outcome, accepted=verdict.passed, flexpay=flexpay, correct=verdict.passed if flexpay else None,
                latency_ms=trace.latency_ms, cost=trace.cost or 0.0, escalated=trace.escalated, trace_id=completion.trace_id,
                conversation=conversation, turn=number, sim_t=round(turn.t, 3), failures=tuple(verdict.failures),
            ))
            pending.append([completion.trace_id, request["tenant"], verdict, None])
            if on_request:
                on_request()
            turn = customer.reply(verdict.passed, completion.loopwright.get("confirmation"))
        pending[-1][3] = customer.survey()  # the survey comes with the conversation's last answer


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


def first_answers(rows: list[Served], requests: list[dict[str, Any]]) -> list[Served]:
    """Each of `requests`' first answer (turn 1 of the conversation it opened), in their order.

    Two arms served the same requests make different numbers of calls: after a failed answer the simulated
    customer rephrases, so a worse arm is asked more often and per-call figures compare different traffic
    (in the economics phase, -3.6 points per call where the first answers differed by -1.0). Turn 1 of each
    request is the like-for-like pair; a come-back days later (id + "r") is left out with the rest."""
    first = {r.request_id: r for r in rows if r.turn == 1}
    return [first[q["id"]] for q in requests]


def paired(control: list[Served], treated: list[Served]) -> dict[str, Any]:
    """`treated` against `control` answer for answer (the same requests, in the same order): see `paired_arms`."""
    if [r.request_id for r in control] != [r.request_id for r in treated]:
        raise ValueError("paired arms must answer the same requests in the same order")
    return paired_arms([r.accepted for r in control], [r.accepted for r in treated],
                       [r.cost for r in control], [r.cost for r in treated])


def paired_arms(control_ok: Sequence[bool], treated_ok: Sequence[bool], control_cost: Sequence[float],
                treated_cost: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Two arms' verdicts and costs on the same requests: the accepted-rate change and the cut in cost per accepted
    answer, each with a 95% paired bootstrap interval (requests resampled with replacement, the same indices for
    both arms, seeded), as `training.promote` pairs items; `lost`/`gained`: the requests only one arm got right."""
    n = len(control_ok)
    if not n:
        return {"n": 0}
    ok = np.array([control_ok, treated_ok], dtype=float)  # (2, n)
    cost = np.array([control_cost, treated_cost], dtype=float)  # (2, n)
    rows = np.random.default_rng(seed).integers(0, n, (resamples, n))  # (R, n): one resample per row, both arms
    passed, spent = ok[:, rows].sum(-1), cost[:, rows].sum(-1)  # (2, R)
    change = (passed[1] - passed[0]) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = 1 - (spent[1] / passed[1]) / (spent[0] / passed[0])
    cut = cut[np.isfinite(cut)]

    def interval(x: np.ndarray) -> list[float] | None:
        return [round(float(v), 4) for v in np.quantile(x, [0.025, 0.975])] if len(x) else None

    c_ok, t_ok = ok.sum(1)
    c_cost, t_cost = cost.sum(1)
    return {
        "n": n,
        "accepted": [int(c_ok), int(t_ok)],
        "lost": int(((ok[0] == 1) & (ok[1] == 0)).sum()),
        "gained": int(((ok[0] == 0) & (ok[1] == 1)).sum()),
        "accuracy_change": round(float((t_ok - c_ok) / n), 4),
        "accuracy_change_ci95": interval(change),
        "cost_cut": round(float(1 - (t_cost / t_ok) / (c_cost / c_ok)), 4) if c_ok and t_ok and c_cost else None,
        "cost_cut_ci95": interval(cut),
    }


def answered_by(row: Served) -> str:
    """What answered a call: "cache", the tier's name, or "none" (declined before routing)."""
    return "cache" if row.cache_hit else (row.tier or "none")


def by_tier(rows: list[Served]) -> dict[str, dict[str, Any]]:
    """`summarise` per way of answering (`answered_by`)."""
    groups: dict[str, list[Served]] = {}
    for r in rows:
        groups.setdefault(answered_by(r), []).append(r)
    return {name: {**summarise(group), "share": len(group) / len(rows)} for name, group in sorted(groups.items())}


def _wilson(successes: int, n: int) -> list[float] | None:
    """The 95% Wilson interval of a proportion: how far a figure from `n` questions can be trusted."""
    if not n:
        return None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]
