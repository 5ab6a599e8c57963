"""Economics and quality over a window of traces, overall and per deployment version and channel, with the
outcome metrics per conversation (`loopwright.observe.outcomes`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.observe.outcomes import outcome_report
from loopwright.serving.trace_store import load_traces
from loopwright.serving.trace import Trace

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


def summarise(traces: Iterable[Trace | dict[str, Any]]) -> dict[str, Any]:
    """Requests, latency percentiles, cache-hit, escalation, decline and defect rates, cost per accepted outcome."""
    traces = [Trace.from_dict(t) for t in traces]
    n = len(traces)
    if n == 0:
        return {"requests": 0}
    latency = np.array([t.latency_ms for t in traces], dtype=float)
    outcomes = [t.outcome for t in traces]
    cost = float(sum(t.cost or 0.0 for t in traces))
    accepted = outcomes.count("accepted")
    judged = accepted + outcomes.count("defect")
    return {
        "requests": n,
        "latency_ms": {f"p{q}": round(float(np.percentile(latency, q)), 2) for q in (50, 95, 99)},
        "cache_hit_rate": round(sum(t.cache.hit for t in traces) / n, 4),
        "escalation_rate": round(sum(t.escalated for t in traces) / n, 4),
        "decline_rate": round(outcomes.count("declined") / n, 4),
        "defect_rate": round(outcomes.count("defect") / judged, 4) if judged else None,
        "accepted": accepted,
        "total_cost": round(cost, 6),
        "cost_per_accepted": round(cost / accepted, 6) if accepted else None,
    }


def report(ws: Workspace, *, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """`summarise` over the window, overall and per (deployment version, channel), with the cost of each stage
    (inference, and the training and self-learning jobs amortised over the calls they served: `costs.stage_costs`)."""
    from loopwright.observe.costs import stage_costs

    traces = list(load_traces(ws, since=since, until=until))
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for t in traces:
        groups[(t.deployment_version, t.channel)].append(t)
    return {
        "since": since,
        "until": until,
        "overall": summarise(traces),
        "deployments": [
            {"deployment_version": version, "channel": channel, **summarise(rs)}
            for (version, channel), rs in sorted(groups.items())
        ],
        "stages": stage_costs(ws, since=since, until=until).to_dict(),
        "outcomes": outcome_report(ws, since=since, until=until).to_dict(),
    }
