"""SLOs over real traces: the indicator, the error budget, burn rates, and alerts sent to a real webhook."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI, Request
from typer.testing import CliRunner
from upstream import ThreadedServer

from loopwright.cli import app as cli
from loopwright.errors import InvalidInput
from loopwright.observe import slo
from loopwright.learning.feedback import record_feedback
from loopwright.serving.trace_store import load_traces
from loopwright.policy.loader import load_policy
from loopwright.policy.principal import Principal
from loopwright.serving.call import ChatRequest
from loopwright.serving.pipeline import Gateway
from loopwright.serving.trace import Caller, Trace

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _trace(i: int, *, minutes_ago: float, outcome: str = "answered", latency_ms: float = 100.0) -> Trace:
    ts = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Trace(id=f"tr_{i:024x}", ts=ts, principal=Caller(tenant="t"), channel="stable", deployment_version=1,
                 model="m", outcome=outcome, latency_ms=latency_ms)


def _policy(objectives: str, webhook: str = "") -> object:
    return load_policy(f'[slo]\nwebhook = "{webhook}"\n{objectives}')


def test_budget_and_burn_rates_follow_the_bad_calls():
    policy = _policy('[slo.objectives.up]\nsli = "availability"\ntarget = 0.99\n')
    # 200 calls over the last 10 hours, 4 errors, all in the last 4 minutes.
    traces = [_trace(i, minutes_ago=600 - 3 * i) for i in range(200)]
    for t in traces[-4:]:
        t.outcome = "error"
    (status,) = [slo.status_of(n, o, traces, policy.slo.alerts, NOW) for n, o in policy.slo.objectives.items()]
    assert (status.good, status.total) == (196, 200)
    assert status.value == pytest.approx(0.98) and not status.met
    assert status.budget_left == pytest.approx(1 - 4 / 2)  # overspent: 4 bad against a budget of 2
    fast, slow = status.windows
    in_hour = sum(1 for t in traces if t.ts >= (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert fast.burn_long == pytest.approx(4 / in_hour / 0.01)
    assert fast.burn_short == pytest.approx(1.0 / 0.01)  # every call of the last 5 minutes failed
    assert fast.firing and slow.burn_long == pytest.approx(4 / 120 / 0.01) and not slow.firing


def test_latency_indicator_counts_slow_and_failed_calls_as_bad():
    policy = _policy('[slo.objectives.fast]\nsli = "latency"\nthreshold_ms = 500\ntarget = 0.9\n')
    traces = [_trace(0, minutes_ago=1, latency_ms=100), _trace(1, minutes_ago=1, latency_ms=900),
              _trace(2, minutes_ago=1, outcome="error", latency_ms=10)]
    (status,) = [slo.status_of(n, o, traces, policy.slo.alerts, NOW) for n, o in policy.slo.objectives.items()]
    assert (status.good, status.total) == (1, 3)


def test_a_latency_objective_without_its_threshold_is_a_one_line_error():
    with pytest.raises(InvalidInput) as err:
        _policy('[slo.objectives.fast]\nsli = "latency"\ntarget = 0.9\n')
    assert "threshold_ms" in err.value.message and "\n" not in err.value.message


class _Receiver:
    """A real HTTP webhook receiver that keeps what it is sent."""

    def __init__(self):
        self.received: list[dict] = []
        self.lock = threading.Lock()
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request):
            with self.lock:
                self.received.append(json.loads(await request.body()))
            return {"ok": True}

        self.server = ThreadedServer(app)


@SQLITE
def test_alerts_fire_once_reach_the_webhook_and_resolve(triaged_bank):
    receiver = _Receiver()
    gateway = Gateway(triaged_bank, watch=False)
    principal = Principal("larkspur-retail", "customer", ("retail",), None, key_id="k1")
    try:
        ids = [gateway.complete(ChatRequest(model="larkspur-assistant", messages=[
            {"role": "user", "content": "What is the APY on the Larkspur Saver?"}]), principal).trace_id for _ in range(10)]
    finally:
        gateway.close()
    for trace_id in ids[:5]:
        record_feedback(triaged_bank, trace_id, thumbs=-1)
    now = max(datetime.fromisoformat(t.ts.replace("Z", "+00:00")) for t in load_traces(triaged_bank)) + timedelta(seconds=1)

    with receiver.server:
        policy = _policy('[slo.objectives.defects]\nsli = "defect"\ntarget = 0.97\n', f"{receiver.server.url}/hook")
        fired = slo.check_alerts(triaged_bank, policy, now=now)
        assert {(n.state, n.window) for n in fired} == {("firing", "3600/300"), ("firing", "21600/1800")}
        assert fired[0].burn_long == pytest.approx(0.5 / 0.03, rel=1e-3)
        assert slo.check_alerts(triaged_bank, policy, now=now) == []  # still firing: no second notice
        assert [a["delivered"] for a in slo.open_alerts(triaged_bank)] == ["HTTP 200", "HTTP 200"]

        resolved = slo.check_alerts(triaged_bank, policy, now=now + timedelta(days=1))  # the windows hold no calls
        assert {n.state for n in resolved} == {"resolved"} and len(resolved) == 2
        assert slo.open_alerts(triaged_bank) == []
    assert [(r["state"], r["objective"]) for r in receiver.received] == [("firing", "defects")] * 2 + [("resolved", "defects")] * 2


@SQLITE
def test_cli_reports_the_sample_policys_objectives(triaged_bank):
    result = CliRunner().invoke(cli, ["slo", "--workspace", str(triaged_bank.root), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {o["name"] for o in report["objectives"]} == {"availability", "latency_p95", "defects", "escalations"}
    assert all(o["total"] == 0 and o["met"] and o["budget_left"] == 1.0 for o in report["objectives"])


@SQLITE
def test_window_traces_parse_each_record_once_and_follow_outcomes(triaged_bank, monkeypatch):
    principal = Principal("larkspur-retail", "customer", ("retail",), None, key_id="k1")
    question = ChatRequest(model="larkspur-assistant", messages=[{"role": "user", "content": "How much is a domestic wire?"}])

    def calls(n: int) -> list[str]:
        gateway = Gateway(triaged_bank, watch=False)
        try:
            return [gateway.complete(question, principal).trace_id for _ in range(n)]
        finally:
            gateway.close()  # its trace queue drained: every trace is stored

    ids = calls(4)
    window, since, until = slo.WindowTraces(), "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    assert sorted(t.id for t in window.read(triaged_bank, since, until)) == sorted(ids)
    parsed = []
    real = slo.load_traces
    monkeypatch.setattr(slo, "load_traces", lambda ws, **kw: parsed.extend(kw["ids"]) or real(ws, **kw))
    record_feedback(triaged_bank, ids[0], thumbs=-1)  # an outcome changes after the call
    more = calls(1)
    again = {t.id: t for t in window.read(triaged_bank, since, until)}
    assert parsed == more  # only the new record was parsed
    assert set(again) == {*ids, *more} and again[ids[0]].outcome == "defect"
    fresh = {t.id: t for t in slo.WindowTraces().read(triaged_bank, since, until)}
    assert {k: v.model_dump() for k, v in again.items()} == {k: v.model_dump() for k, v in fresh.items()}
    assert window.read(triaged_bank, "2999-01-01T00:00:00Z", "2999-01-02T00:00:00Z") == []  # left the window
