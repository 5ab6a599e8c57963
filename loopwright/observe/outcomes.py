"""The outcome metrics a support team is judged by, per conversation: first-contact resolution, time-to-valid,
satisfaction, and cost per accepted action beside cost per accepted answer.

    report = outcome_report(ws, since="2026-11-01T00:00:00Z")   # typed: OutcomeReport
    report.overall.fcr.value, report.overall.fcr.low, report.overall.fcr.high
    report.segments["intent"]["card_freeze"].time_to_valid_turns

Definitions (the thresholds are the policy's `[outcomes]`, `loopwright.policy.schema.OutcomeRules`):

- **first-contact resolution (FCR)**: the share of conversations with no hand-off to a person (a
  `handoff_tools` call), no repeat contact (the same customer back on the same intent within
  `repeat_window_days` of the conversation's last turn) and, with `require_valid`, a valid turn;
- **time-to-valid**: from the first message to the first accepted answer (a trace outcome among
  `accepted_outcomes`) or valid action (a tool call whose status is among `valid_statuses`, with its
  receipt), until that answer was delivered, in seconds and in turns: the mean over the conversations
  that got there, beside the share that got there at all;
- **CSAT**: the customer's last survey score (`csat` feedback, on `csat_scale`) in each conversation
  that answered one: the mean, and the share at or above `satisfied_at` (top-two-box, the "points" a
  case study quotes);
- **cost per accepted answer / action**: the cost of every turn of the conversations that asked no
  action, over their accepted answers; and of those that asked for an action, over their valid actions.

`Change.of` compares two samples' shares (FCR relative, as "+19%"; CSAT satisfied in points, as "+8 points").
Shares carry Wilson intervals and means bootstrap intervals (10,000 resamples, seeded), at the
policy's `confidence`. Each is given overall and per release (the versions of the slots that served the
first turn), channel, intent and language (the first turn's, as triage saw them). A simulation passes its
own calendar as `clock` (`loopwright.serving.conversations.Clock`); otherwise a turn's time is its trace's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from scipy import stats

from loopwright.policy.schema import OutcomeRules
from loopwright.serving.conversations import Clock, Resolution, group, resolve, trace_time
from loopwright.serving.trace import Trace
from loopwright.serving.trace_store import load_traces
from loopwright.store.schema import FeedbackRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

SEGMENTS = ("release", "channel", "intent", "language")
RELEASE_SLOTS = ("corpus", "router", "prompt", "policy", "model:triage", "adapter:triage")
"""The slots whose versions name a release in the per-release breakdown (the ones the demo changes)."""
_RESAMPLES = 10_000


@dataclass(frozen=True)
class Share:
    """A proportion `k / n` with its Wilson interval; value None when n is 0."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, k: int, n: int, confidence: float) -> Share:
        if n == 0:
            return cls(0, 0, None, None, None)
        ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
        return cls(k, n, round(k / n, 4), round(float(ci.low), 4), round(float(ci.high), 4))


@dataclass(frozen=True)
class Estimate:
    """The mean of `n` values with its bootstrap (percentile) interval; value None when n is 0."""

    n: int
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, values: Sequence[float], confidence: float) -> Estimate:
        if not values:
            return cls(0, None, None, None)
        x = np.asarray(values, dtype=float)
        if len(x) == 1 or np.all(x == x[0]):
            v = round(float(x[0]), 4)
            return cls(len(x), v, v, v)
        ci = stats.bootstrap((x,), np.mean, n_resamples=_RESAMPLES, confidence_level=confidence, method="percentile",
                             random_state=np.random.default_rng(0), vectorized=True, axis=-1).confidence_interval
        return cls(len(x), round(float(x.mean()), 4), round(float(ci.low), 4), round(float(ci.high), 4))


@dataclass(frozen=True)
class Change:
    """How a share moved from one sample to another (after minus before, or after / before - 1 when relative),
    with a bootstrap interval (each sample resampled on its own, 10,000 times, seeded); None without data."""

    value: float | None
    low: float | None
    high: float | None
    relative: bool

    @classmethod
    def of(cls, before: Share, after: Share, confidence: float, *, relative: bool = False) -> Change:
        if not before.n or not after.n or (relative and not before.k):
            return cls(None, None, None, relative)
        rng = np.random.default_rng(0)
        b = rng.binomial(before.n, before.k / before.n, _RESAMPLES) / before.n
        a = rng.binomial(after.n, after.k / after.n, _RESAMPLES) / after.n
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = a / b - 1 if relative else a - b
        draws = draws[np.isfinite(draws)]
        point = (after.k / after.n) / (before.k / before.n) - 1 if relative else after.k / after.n - before.k / before.n
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(draws, [tail, 100 - tail])
        return cls(round(float(point), 4), round(float(low), 4), round(float(high), 4), relative)


@dataclass(frozen=True)
class OutcomeMetrics:
    """The outcome metrics of one set of conversations."""

    conversations: int
    turns: int
    fcr: Share
    handoff: Share
    repeat: Share
    reached_valid: Share
    time_to_valid_s: Estimate  # mean seconds, among conversations that reached a valid turn
    time_to_valid_turns: Estimate  # mean turns, among the same
    csat: Estimate  # mean score, among conversations that answered the survey
    csat_satisfied: Share  # top-two-box share of the same
    cost_per_accepted_answer: float | None
    cost_per_accepted_action: float | None
    accepted_answers: int
    valid_actions: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OutcomeReport:
    """Outcome metrics overall and per segment (`SEGMENTS`: segment -> value -> metrics)."""

    rules: OutcomeRules
    overall: OutcomeMetrics
    segments: dict[str, dict[str, OutcomeMetrics]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules.model_dump(mode="json"),
            "overall": self.overall.to_dict(),
            "segments": {name: {k: m.to_dict() for k, m in values.items()} for name, values in self.segments.items()},
        }


def measure(resolutions: Sequence[Resolution], csat: dict[tuple[str, str, str], int], rules: OutcomeRules) -> OutcomeMetrics:
    """The metrics of judged conversations; `csat` maps a conversation's key to its survey score."""
    conf = rules.confidence
    n = len(resolutions)
    valid = [r for r in resolutions if r.valid_turn is not None]
    scores = [csat[r.conversation.key] for r in resolutions if r.conversation.key in csat]
    answers = [r for r in resolutions if not r.action]
    actions = [r for r in resolutions if r.action]
    accepted = sum(r.accepted_answers for r in answers)
    done = sum(r.valid_actions for r in actions)
    return OutcomeMetrics(
        conversations=n,
        turns=sum(len(r.conversation.turns) for r in resolutions),
        fcr=Share.of(sum(r.resolved for r in resolutions), n, conf),
        handoff=Share.of(sum(r.handoff for r in resolutions), n, conf),
        repeat=Share.of(sum(r.repeated for r in resolutions), n, conf),
        reached_valid=Share.of(len(valid), n, conf),
        time_to_valid_s=Estimate.of([r.valid_seconds for r in valid], conf),
        time_to_valid_turns=Estimate.of([float(r.valid_turn) for r in valid], conf),
        csat=Estimate.of([float(s) for s in scores], conf),
        csat_satisfied=Share.of(sum(s >= rules.satisfied_at for s in scores), len(scores), conf),
        cost_per_accepted_answer=round(sum(r.cost for r in answers) / accepted, 8) if accepted else None,
        cost_per_accepted_action=round(sum(r.cost for r in actions) / done, 8) if done else None,
        accepted_answers=accepted,
        valid_actions=done,
    )


def segment_key(r: Resolution, segment: str) -> str:
    c = r.conversation
    if segment == "release":
        return c.release(RELEASE_SLOTS)
    return {"channel": c.channel, "intent": c.intent, "language": c.language}[segment]


def outcomes_of(traces: Iterable[Trace | dict], csat: dict[str, int], rules: OutcomeRules, *, clock: Clock = trace_time,
                segments: Sequence[str] = SEGMENTS) -> OutcomeReport:
    """The outcome report of `traces`; `csat` maps a trace id to the CSAT score given on it (the last one counts)."""
    judged = resolve(group(traces, clock=clock), rules, clock=clock)
    scores: dict[tuple[str, str, str], int] = {}
    for r in judged:
        given = [csat[t.id] for t in r.conversation.turns if t.id in csat]
        if given:
            scores[r.conversation.key] = given[-1]
    by: dict[str, dict[str, list[Resolution]]] = {name: defaultdict(list) for name in segments}
    for r in judged:
        for name in segments:
            by[name][segment_key(r, name)].append(r)
    return OutcomeReport(
        rules=rules,
        overall=measure(judged, scores, rules),
        segments={name: {k: measure(rs, scores, rules) for k, rs in sorted(values.items())} for name, values in by.items()},
    )


def csat_scores(ws: Workspace, trace_ids: Iterable[str]) -> dict[str, int]:
    """Trace id -> the last CSAT score given on it."""
    ids = list(trace_ids)
    out: dict[str, int] = {}
    with ws.session() as s:
        for start in range(0, len(ids), 500):  # under every engine's bound-parameter limit
            query = (sa.select(FeedbackRow.trace_id, FeedbackRow.csat)
                     .where(FeedbackRow.trace_id.in_(ids[start:start + 500]), FeedbackRow.csat.is_not(None))
                     .order_by(FeedbackRow.id))
            for trace_id, score in s.execute(query):
                out[trace_id] = score
    return out


def outcome_report(ws: Workspace, *, since: str | None = None, until: str | None = None, rules: OutcomeRules | None = None,
                   ids: Sequence[str] | None = None, clock: Clock = trace_time,
                   segments: Sequence[str] = SEGMENTS) -> OutcomeReport:
    """The outcome metrics of the stored traces in a window (or of `ids`), under `rules` (default: the deployed
    policy's `[outcomes]`, else the built-in rules)."""
    if rules is None:
        rules = _deployed_rules(ws)
    traces = list(load_traces(ws, since=since, until=until, ids=ids))
    return outcomes_of(traces, csat_scores(ws, [t.id for t in traces]), rules, clock=clock, segments=segments)


def _deployed_rules(ws: Workspace) -> OutcomeRules:
    from loopwright.errors import NotFound
    from loopwright.policy.loader import deployed_policy

    try:
        return deployed_policy(ws).outcomes
    except NotFound:
        return OutcomeRules()
