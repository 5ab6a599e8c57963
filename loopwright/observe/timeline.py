"""The service over time: `summarise` per time bucket, per slot version, and the release steps that mark them.

What the console's Overview plots. Buckets split the window's served calls
(golden runs are not traffic) into equal spans of time; each bucket is
`report.summarise` of its calls, plus availability (calls without an error).
A marker is one receipt that changed what a slot serves (a release step or a
rollback), at its time, with its id so the page links to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loopwright.digests import utc_stamp
from loopwright.errors import InvalidInput
from loopwright.observe.report import summarise
from loopwright.registry.receipts import list_receipts
from loopwright.serving.trace_store import load_traces

if TYPE_CHECKING:
    from loopwright.serving.trace import Trace
    from loopwright.workspace import Workspace

MARKED = ("deploy.set", "rollback", "release.canary", "release.step", "release.promote", "release.abort", "release.rollback")
"""Receipt actions that change what a slot serves: the release markers."""


@dataclass(frozen=True)
class Marker:
    """One change to what a slot serves, as its receipt tells it."""

    ts: str
    action: str
    slot: str
    label: str
    receipt: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _summary(traces: list[Trace]) -> dict[str, Any]:
    out = summarise(traces)
    if traces:
        out["availability"] = round(sum(t.outcome != "error" for t in traces) / len(traces), 4)
    return out


def served(ws: Workspace, *, since: str | None = None, until: str | None = None) -> list[Trace]:
    """The window's served calls, oldest first."""
    return sorted((t for t in load_traces(ws, since=since, until=until) if t.purpose == "serve"), key=lambda t: t.ts)


def timeline(traces: list[Trace], *, buckets: int = 24) -> list[dict[str, Any]]:
    """`traces` (oldest first) in `buckets` equal spans of time; each with its start, end and summary."""
    if not 1 <= buckets <= 500:
        raise InvalidInput(f"buckets must be 1..500, not {buckets}")
    if not traces:
        return []
    start, end = _epoch(traces[0].ts), _epoch(traces[-1].ts)
    width = max((end - start) / buckets, 1e-6)
    groups: dict[int, list[Trace]] = defaultdict(list)
    for t in traces:
        groups[min(int((_epoch(t.ts) - start) / width), buckets - 1)].append(t)
    return [
        {"start": datetime.fromtimestamp(start + i * width, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "start_s": round(i * width, 3),
         **_summary(groups[i])}
        for i in sorted(groups)
    ]


def by_version(traces: list[Trace]) -> dict[str, list[dict[str, Any]]]:
    """Slot -> each artifact that served it in `traces`, with the summary of the calls it served, oldest first."""
    groups: dict[tuple[str, str], list[Trace]] = defaultdict(list)
    for t in traces:
        for slot, version in t.bundle.items():
            groups[(slot, version.ref)].append(t)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (slot, ref), calls in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[1][0].ts)):
        out[slot].append({"ref": ref, "first": calls[0].ts, "last": calls[-1].ts, **_summary(calls)})
    return dict(out)


def markers(ws: Workspace, *, since: str | None = None, until: str | None = None) -> list[Marker]:
    """Every release step and rollback in the window, oldest first."""
    lo, hi = (utc_stamp(since) if since else None), (utc_stamp(until) if until else None)
    out = []
    with ws.session() as s:
        for r in list_receipts(s):
            if r.action not in MARKED or (lo and r.ts < lo) or (hi and r.ts >= hi):
                continue
            after = r.after if isinstance(r.after, dict) else {}
            slot = after.get("slot") or r.subject.removeprefix("slot/")
            what = after.get("candidate") or after.get("stable") or after.get("state") or ""
            share = f" {after['share']:.0%}" if isinstance(after.get("share"), (int, float)) and r.action != "release.promote" else ""
            out.append(Marker(r.ts, r.action, slot, f"{r.action}{share} {slot} {what}".strip(), r.id))
    return out


def overview(ws: Workspace, *, since: str | None = None, until: str | None = None, buckets: int = 24) -> dict[str, Any]:
    """Everything the console's Overview shows: the window's summary, its buckets over time, each slot version's
    calls, the release markers, every objective's status, the alerts firing and the cost of each stage."""
    from loopwright.errors import LoopwrightError
    from loopwright.observe.costs import stage_costs
    from loopwright.observe.slo import evaluate, open_alerts

    everything = served(ws)  # read once: the window's calls, and the whole history the job costs are spread over
    lo, hi = (utc_stamp(since) if since else None), (utc_stamp(until) if until else None)
    traces = [t for t in everything if (lo is None or t.ts >= lo) and (hi is None or t.ts < hi)]
    try:
        objectives = [o.to_dict() for o in evaluate(ws)]
    except LoopwrightError:  # no policy deployed: no objectives to judge against
        objectives = []
    return {
        "since": since,
        "until": until,
        "overall": _summary(traces),
        "timeline": timeline(traces, buckets=buckets),
        "versions": by_version(traces),
        "markers": [m.to_dict() for m in markers(ws, since=since, until=until)],
        "objectives": objectives,
        "alerts": open_alerts(ws),
        "stages": stage_costs(ws, since=since, until=until, traces=everything).to_dict(),
        "window": {"first": traces[0].ts, "last": traces[-1].ts} if traces else None,
    }
