"""Economics and quality over a window of traces, overall and per deployment version and channel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.observe.traces import load_records

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


def summarise(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Requests, latency percentiles, cache-hit, escalation, decline and defect rates, cost per accepted outcome."""
    records = list(records)
    n = len(records)
    if n == 0:
        return {"requests": 0}
    latency = np.array([r["latency_ms"] for r in records], dtype=float)
    outcomes = [r.get("outcome") for r in records]
    cost = float(sum(r.get("cost") or 0.0 for r in records))
    accepted = outcomes.count("accepted")
    judged = accepted + outcomes.count("defect")
    return {
        "requests": n,
        "latency_ms": {f"p{q}": round(float(np.percentile(latency, q)), 2) for q in (50, 95, 99)},
        "cache_hit_rate": round(sum(bool(r["cache"]["hit"]) for r in records) / n, 4),
        "escalation_rate": round(sum(bool((r.get("route") or {}).get("escalated")) for r in records) / n, 4),
        "decline_rate": round(outcomes.count("declined") / n, 4),
        "defect_rate": round(outcomes.count("defect") / judged, 4) if judged else None,
        "accepted": accepted,
        "total_cost": round(cost, 6),
        "cost_per_accepted": round(cost / accepted, 6) if accepted else None,
    }


def report(ws: Workspace, *, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    records = list(load_records(ws, since=since, until=until))
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for r in records:
        groups[(r["deployment_version"], r["channel"])].append(r)
    return {
        "since": since,
        "until": until,
        "overall": summarise(records),
        "deployments": [
            {"deployment_version": version, "channel": channel, **summarise(rs)}
            for (version, channel), rs in sorted(groups.items())
        ],
    }
