"""Service-level objectives over the traces: status, error budget, and multi-window burn-rate alerts.

    policy [slo.objectives.NAME]  sli + target (+ threshold_ms)    # what a good call is, and how many must be
      -> evaluate(ws)             good / total over window_days    # the SLI, and the budget left of (1 - target)
                                  burn rate per alert window        # error rate / (1 - target), long and short
      -> check_alerts(ws)         fires when both windows burn at or above the window's rate; resolves when
                                  either stops; each change stored (slo_alerts) and POSTed to [slo] webhook

Only served calls count (`purpose = serve`: golden evaluations are not
traffic). A window with no calls burns nothing. The burn rate is the window's
bad share over the budget's: 1.0 spends the budget exactly over the SLO
window, 14.4 over an hour spends 2% of a 30-day budget (the SRE workbook's
page threshold, the default here).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import sqlalchemy as sa

from loopwright.serving.trace_store import load_traces
from loopwright.policy.loader import deployed_policy
from loopwright.digests import utc_stamp
from loopwright.store.schema import SloAlertRow, TraceRow

if TYPE_CHECKING:
    from loopwright.policy.schema import BurnWindow, Objective, PolicySet
    from loopwright.serving.trace import Trace
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)


def is_good(trace: Trace, objective: Objective) -> bool:
    """Whether one call meets the objective's indicator."""
    match objective.sli:
        case "availability":
            return trace.outcome != "error"
        case "latency":
            return trace.outcome != "error" and trace.latency_ms < objective.threshold_ms
        case "defect":
            return not (trace.outcome == "defect" or any(not v.passed for v in trace.validators))
        case "escalation":
            return not trace.escalated
        case "decline":
            return trace.outcome != "declined"
        case "cache_hit":
            return trace.cache.hit
    raise AssertionError(objective.sli)


@dataclass(frozen=True)
class WindowBurn:
    """One alert window's burn rates and whether it fires."""

    long_s: int
    short_s: int
    threshold: float
    severity: str
    burn_long: float
    burn_short: float

    @property
    def name(self) -> str:
        return f"{self.long_s}/{self.short_s}"

    @property
    def firing(self) -> bool:
        return self.burn_long >= self.threshold and self.burn_short >= self.threshold


@dataclass(frozen=True)
class ObjectiveStatus:
    """Where one objective stands over its window."""

    name: str
    sli: str
    target: float
    threshold_ms: float | None
    good: int
    total: int
    windows: list[WindowBurn] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """The share of good calls; None without calls."""
        return self.good / self.total if self.total else None

    @property
    def met(self) -> bool:
        return self.value is None or self.value >= self.target

    @property
    def budget_left(self) -> float:
        """The error budget not yet spent, as a share of it (negative once overspent)."""
        if not self.total:
            return 1.0
        return 1.0 - (self.total - self.good) / ((1.0 - self.target) * self.total)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["windows"] = [{**asdict(w), "firing": w.firing} for w in self.windows]
        return {**out, "value": self.value, "met": self.met, "budget_left": self.budget_left}


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _burn(bad: np.ndarray, times: np.ndarray, since: float, budget: float) -> float:
    inside = times >= since
    return float(bad[inside].mean() / budget) if inside.any() else 0.0


def status_of(name: str, objective: Objective, traces: list[Trace], windows: tuple[BurnWindow, ...], now: datetime) -> ObjectiveStatus:
    """One objective over `traces` (the SLO window's), with its burn rate in each alert window ending at `now`."""
    good = np.array([is_good(t, objective) for t in traces], bool)
    times = np.array([_epoch(t.ts) for t in traces], float)
    budget, end = 1.0 - objective.target, now.timestamp()
    burns = [
        WindowBurn(w.long_s, w.short_s, w.burn_rate, w.severity,
                   _burn(~good, times, end - w.long_s, budget), _burn(~good, times, end - w.short_s, budget))
        for w in windows
    ]
    return ObjectiveStatus(name, objective.sli, objective.target, objective.threshold_ms, int(good.sum()), len(traces), burns)


class WindowTraces:
    """The serve traces of an SLO window, each record parsed once: a turn reads (id, outcome) for the window
    and parses only the records it has not seen.

    Parsing every trace of the window on every controller turn (JSON, then the typed `Trace`) was 22.5% of
    the pass-through gateway's busy CPU under py-spy, with 8,800 traces stored, and grew with the window;
    its GIL holds showed in the p99. A record never changes once written; its outcome does (feedback), so
    outcomes are read again every turn. A trace gone from the store (erased) leaves the window.
    """

    def __init__(self):
        self._by_id: dict[str, Trace] = {}
        self._lock = threading.Lock()

    def read(self, ws: Workspace, since: str, until: str) -> list[Trace]:
        query = (sa.select(TraceRow.id, TraceRow.outcome).where(TraceRow.ts >= utc_stamp(since), TraceRow.ts < utc_stamp(until))
                 .order_by(TraceRow.ts))
        with ws.session() as s:
            rows = s.execute(query).all()
        with self._lock:
            known = self._by_id
            missing = [trace_id for trace_id, _ in rows if trace_id not in known]
            for start in range(0, len(missing), 500):  # bounded IN lists
                known.update((t.id, t) for t in load_traces(ws, ids=missing[start : start + 500]))
            window: dict[str, Trace] = {}
            for trace_id, outcome in rows:
                trace = known.get(trace_id)
                if trace is not None:
                    window[trace_id] = trace if trace.outcome == outcome else trace.model_copy(update={"outcome": outcome})
            self._by_id = window  # what left the window is dropped
        return [t for t in window.values() if t.purpose == "serve"]


_WINDOWS: dict[str, WindowTraces] = {}
_WINDOWS_LOCK = threading.Lock()


def _window_traces(ws: Workspace) -> WindowTraces:
    with _WINDOWS_LOCK:
        return _WINDOWS.setdefault(ws.database_url, WindowTraces())


def evaluate(ws: Workspace, policy: PolicySet | None = None, *, now: datetime | None = None) -> list[ObjectiveStatus]:
    """Every objective of the live policy (or `policy`) over its window ending `now`."""
    rules = (policy or deployed_policy(ws)).slo
    now = now or datetime.now(UTC)
    since = _stamp(now - timedelta(days=rules.window_days))
    traces = _window_traces(ws).read(ws, since, _stamp(now))
    return [status_of(name, objective, traces, rules.alerts, now) for name, objective in rules.objectives.items()]


@dataclass(frozen=True)
class AlertNotice:
    """What the webhook receives when an alert fires or resolves."""

    state: str  # firing or resolved
    objective: str
    sli: str
    target: float
    window: str
    severity: str
    burn_long: float
    burn_short: float
    threshold: float
    at: str


def check_alerts(ws: Workspace, policy: PolicySet | None = None, *, now: datetime | None = None) -> list[AlertNotice]:
    """Open an alert for each objective and window that started firing, resolve those that stopped, and tell
    the policy's webhook of each change. Returns the changes."""
    policy = policy or deployed_policy(ws)
    now = now or datetime.now(UTC)
    notices: list[tuple[int, AlertNotice]] = []
    statuses = evaluate(ws, policy, now=now)
    with ws.engine.begin() as conn:
        open_rows = {(r.objective, r.window): r.id for r in conn.execute(
            sa.select(SloAlertRow.id, SloAlertRow.objective, SloAlertRow.window).where(SloAlertRow.resolved_at.is_(None))
        )}
        for status in statuses:
            for w in status.windows:
                key, at = (status.name, w.name), _stamp(now)
                notice = AlertNotice("firing" if w.firing else "resolved", status.name, status.sli, status.target,
                                     w.name, w.severity, round(w.burn_long, 3), round(w.burn_short, 3), w.threshold, at)
                if w.firing and key not in open_rows:
                    row_id = conn.execute(sa.insert(SloAlertRow).values(
                        objective=status.name, window=w.name, severity=w.severity, burn_long=w.burn_long,
                        burn_short=w.burn_short, fired_at=at, delivered="",
                    )).inserted_primary_key[0]
                    notices.append((row_id, notice))
                elif not w.firing and key in open_rows:
                    conn.execute(sa.update(SloAlertRow).where(SloAlertRow.id == open_rows[key]).values(resolved_at=at))
                    notices.append((open_rows[key], notice))
    for row_id, notice in notices:
        delivered = _deliver(policy.slo.webhook, notice) if policy.slo.webhook else "not sent: no webhook"
        with ws.engine.begin() as conn:
            conn.execute(sa.update(SloAlertRow).where(SloAlertRow.id == row_id).values(delivered=delivered[:200]))
    return [n for _, n in notices]


def _deliver(url: str, notice: AlertNotice, attempts: int = 3) -> str:
    """POST the notice; what the receiver said (or why it could not be reached), for the alert's row."""
    answer = ""
    for _ in range(attempts):
        try:
            response = httpx.post(url, json=asdict(notice), timeout=5.0)
        except httpx.HTTPError as exc:
            answer = f"unreachable: {type(exc).__name__}"
            continue
        answer = f"HTTP {response.status_code}"
        if response.is_success:
            return answer
    log.warning("slo alert %s/%s not delivered to %s: %s", notice.objective, notice.window, url, answer)
    return answer


def open_alerts(ws: Workspace) -> list[dict[str, Any]]:
    """Alerts firing now, oldest first."""
    with ws.session() as s:
        rows = s.scalars(sa.select(SloAlertRow).where(SloAlertRow.resolved_at.is_(None)).order_by(SloAlertRow.id)).all()
    return [{"objective": r.objective, "window": r.window, "severity": r.severity, "burn_long": r.burn_long,
             "burn_short": r.burn_short, "fired_at": r.fired_at, "delivered": r.delivered} for r in rows]
