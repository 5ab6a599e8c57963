"""Cost per accepted outcome across the three stages: inference, self-learning and training.

    receipts with compute_s (a job: triage.fit, data.prepare, model.register, adapter.train...)
      -> job cost = compute_s x the policy's [costs] price for its action
      -> the calls it served: every served trace whose bundle holds the job's artifact or one made from it
         (lineage through artifact parents: a prepared dataset's cost reaches the calls of the model fitted on it)
      -> per call = job cost / its calls over the artifact's whole life so far
    a window's cost per stage = inference (each call's own cost) + each job's per-call share x the window's calls

A job whose artifacts served no call yet is listed with its cost as `unserved`: spent, not yet amortised, and
not in any cost per accepted outcome. A receipt from before `compute_s` was kept falls back to the job's `seconds`
where its action records them. Which stage a job belongs to is `JOB_STAGES`; a module that adds a job kind
(preference optimisation, say) adds its action there with `job_stage`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.digests import utc_stamp
from loopwright.errors import LoopwrightError
from loopwright.policy.loader import deployed_policy
from loopwright.policy.schema import PolicySet
from loopwright.registry.payloads import Action
from loopwright.registry.receipts import list_receipts
from loopwright.serving.trace_store import load_traces
from loopwright.store.schema import ArtifactRow

if TYPE_CHECKING:
    from loopwright.serving.trace import Trace
    from loopwright.workspace import Workspace

STAGES = ("inference", "self-learning", "training")

JOB_STAGES: dict[str, str] = {
    str(Action.DATA_PREPARE): "training",
    str(Action.TRIAGE_FIT): "training",
    str(Action.MODEL_REGISTER): "training",
    str(Action.DATASET_CURATE): "self-learning",
    str(Action.ADAPTER_REGISTER): "self-learning",
    str(Action.ADAPTER_TRAIN): "self-learning",
}
"""Receipt action -> the stage its job's compute belongs to."""


def job_stage(action: str, stage: str) -> None:
    """Count the compute of jobs that write `action` receipts in `stage` (self-learning or training)."""
    if stage not in STAGES[1:]:
        raise ValueError(f"a job's stage is self-learning or training, not {stage!r}")
    JOB_STAGES[action] = stage


@dataclass(frozen=True)
class Job:
    """One compute job, its price and the calls its artifact has served so far."""

    receipt: str
    ts: str
    action: str
    ref: str
    stage: str
    compute_s: float
    cost: float
    calls: int = 0

    @property
    def per_call(self) -> float | None:
        return self.cost / self.calls if self.calls else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "per_call": self.per_call}


@dataclass(frozen=True)
class StageCosts:
    """One window's calls and what each stage cost them; the jobs behind the two offline stages."""

    calls: int
    accepted: int
    cost: dict[str, float]
    jobs: list[Job] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.cost.values())

    @property
    def unserved(self) -> float:
        """Compute spent on jobs whose artifacts served no call yet."""
        return sum(j.cost for j in self.jobs if not j.calls)

    def per_accepted(self) -> dict[str, float | None]:
        """Each stage's cost, and the total, per accepted outcome of the window."""
        if not self.accepted:
            return {**{s: None for s in STAGES}, "total": None}
        return {**{s: self.cost[s] / self.accepted for s in STAGES}, "total": self.total / self.accepted}

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "accepted": self.accepted, "cost": {**self.cost, "total": self.total},
            "per_accepted": self.per_accepted(), "unserved": self.unserved, "jobs": [j.to_dict() for j in self.jobs],
        }


def _compute_seconds(details: Any) -> float | None:
    if not isinstance(details, dict):
        return None
    seconds = details.get("compute_s", details.get("seconds"))
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        return None  # not a number of seconds (an edited receipt): no compute to price
    return float(seconds)


def _jobs(ws: Workspace, policy: PolicySet) -> dict[str, Job]:
    """Artifact digest -> the job that made it (the first receipt for it counts: a re-registration made nothing)."""
    jobs: dict[str, Job] = {}
    with ws.session() as s:
        for r in list_receipts(s):
            stage = JOB_STAGES.get(r.action)
            seconds = _compute_seconds(r.details) if stage else None
            digest = r.after.get("digest") if isinstance(r.after, dict) else None
            if seconds is None or not digest or digest in jobs:
                continue
            jobs[digest] = Job(r.id, r.ts, r.action, r.after.get("ref", r.subject), stage, seconds,
                               seconds * policy.costs.price(r.action))
    return jobs


def _ancestry(ws: Workspace) -> dict[str, frozenset[str]]:
    """Artifact digest -> itself and every artifact it was made from, through parents."""
    with ws.session() as s:
        parents = {d: tuple(_json_list(p)) for d, p in s.execute(sa.select(ArtifactRow.digest, ArtifactRow.parents))}
    found: dict[str, frozenset[str]] = {}

    def walk(digest: str, seen: frozenset[str]) -> frozenset[str]:
        if digest in found:
            return found[digest]
        out = {digest}
        for parent in parents.get(digest, ()):
            if parent not in seen:  # lineage is acyclic by construction; a tampered table must not loop
                out |= walk(parent, seen | {digest})
        found[digest] = frozenset(out)
        return found[digest]

    for digest in parents:
        walk(digest, frozenset())
    return found


def _json_list(text: str) -> list[str]:
    value = json.loads(text or "[]")
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _reached(trace: Trace, ancestry: dict[str, frozenset[str]], jobs: dict[str, Job]) -> set[str]:
    """The job artifacts behind one call: those of its bundle and everything they were made from."""
    out: set[str] = set()
    for version in trace.bundle.values():
        out |= ancestry.get(version.digest, frozenset({version.digest}))
    return out & jobs.keys()


def stage_costs(
    ws: Workspace, *, since: str | None = None, until: str | None = None, policy: PolicySet | None = None,
    traces: list[Trace] | None = None,
) -> StageCosts:
    """What the served calls between `since` and `until` cost, per stage (see the module notes). `traces`: every
    stored trace, when the caller has them loaded already (the amortisation reads the whole history)."""
    if policy is None:
        try:
            policy = deployed_policy(ws)
        except LoopwrightError:
            policy = PolicySet()  # nothing deployed: the default prices
    jobs = _jobs(ws, policy)
    ancestry = _ancestry(ws)
    served = [t for t in (load_traces(ws) if traces is None else traces) if t.purpose == "serve"]
    calls_of: dict[str, int] = defaultdict(int)
    reached_by: dict[str, set[str]] = {}
    for t in served:
        reached_by[t.id] = _reached(t, ancestry, jobs)
        for digest in reached_by[t.id]:
            calls_of[digest] += 1
    jobs = {d: Job(**{**asdict(j), "calls": calls_of.get(d, 0)}) for d, j in jobs.items()}
    lo, hi = (utc_stamp(since) if since else None), (utc_stamp(until) if until else None)
    window = [t for t in served if (lo is None or t.ts >= lo) and (hi is None or t.ts < hi)]
    cost = {stage: 0.0 for stage in STAGES}
    for t in window:
        cost["inference"] += t.cost or 0.0
        for digest in reached_by[t.id]:
            cost[jobs[digest].stage] += jobs[digest].per_call
    accepted = sum(t.outcome == "accepted" for t in window)
    return StageCosts(len(window), accepted, cost, sorted(jobs.values(), key=lambda j: j.ts))
