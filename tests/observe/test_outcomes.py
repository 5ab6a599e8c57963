"""Outcome metrics on planted conversations whose answers are known: first-contact resolution (hand-offs, repeat
contacts inside and outside the window, keyless callers, a shared id), time-to-valid, CSAT and costs, and
their intervals; then the same from the store, with the feedback that carries CSAT (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopwright.learning.feedback import record_feedback
from loopwright.observe.outcomes import Estimate, Share, outcome_report, outcomes_of
from loopwright.policy.schema import OutcomeRules
from loopwright.serving.conversations import group, resolve
from loopwright.serving.trace import CacheLookup, Caller, SlotVersion, ToolCall, ToolReceipt, Trace, TriageRecord
from loopwright.serving.trace_store import TraceWriter

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = OutcomeRules()


def turn(n: int, conversation: str, subject: str | None, intent: str, outcome: str, *, at_s: float, tools=(),
         cost: float = 0.001, corpus: str = "corpus/bank@1", language: str = "en", key: str = "k1") -> Trace:
    when = (T0 + timedelta(seconds=at_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Trace(
        id=f"tr_{n:024d}", ts=when, principal=Caller(tenant="larkspur-retail", role="customer", subject=subject, key_id=key),
        channel="stable", deployment_version=1, model="larkspur-assistant", conversation=conversation,
        bundle={"corpus": SlotVersion(ref=corpus, digest="d" * 64)}, triage=TriageRecord(intent=intent), language=language,
        outcome=outcome, tools=list(tools), cost=cost, latency_ms=500.0, cache=CacheLookup(hit=False),
    )


def executed(name: str) -> ToolCall:
    return ToolCall(name=name, status="executed", receipt=ToolReceipt(id="r", seq=1, digest="a", signature="s"))


DAY = 86_400.0
PLANTED = [
    # A: a defect, then an accepted rephrasing 40 s later: resolved, valid at turn 2
    turn(1, "a", "cus_001", "flexpay", "defect", at_s=0),
    turn(2, "a", "cus_001", "flexpay", "accepted", at_s=40),
    # B: an action that ran with its receipt: resolved, valid at turn 1
    turn(3, "b", "cus_002", "card_freeze", "answered", at_s=10, tools=[executed("freeze_card")], cost=0.002),
    # C: declined; the customer is back on the same intent two days later (D, accepted): C is a repeat
    turn(4, "c", "cus_003", "flexpay", "declined", at_s=20),
    turn(5, "d", "cus_003", "flexpay", "accepted", at_s=2 * DAY),
    # E: handed to a person: not resolved, even though the hand-off's receipt is valid
    turn(6, "e", "cus_004", "dispute_initiation", "defect", at_s=30),
    turn(7, "e", "cus_004", "human_agent", "answered", at_s=60, tools=[executed("escalate_to_human")]),
    # F, G: the same customer and intent ten days apart: outside the 7-day window, both resolved
    turn(8, "f", "cus_005", "savings_rates", "accepted", at_s=50),
    turn(9, "g", "cus_005", "savings_rates", "accepted", at_s=10 * DAY, language="es"),
    # a keyless caller (no customer) asking twice: never a repeat; silent, so unresolved under require_valid
    turn(10, "h", None, "savings_rates", "answered", at_s=70, key="staff"),
    turn(11, "i", None, "savings_rates", "answered", at_s=80, key="staff"),
    # two customers sending the same id: two conversations
    turn(12, "shared", "cus_006", "branch_hours", "accepted", at_s=90, corpus="corpus/bank@2"),
    turn(13, "shared", "cus_007", "branch_hours", "defect", at_s=95, corpus="corpus/bank@2"),
]


def test_conversations_are_judged_as_the_policy_defines():
    conversations = group(PLANTED)
    assert [c.id for c in conversations] == ["a", "b", "c", "e", "f", "h", "i", "shared", "shared", "d", "g"]
    judged = {(c.conversation.id, c.conversation.owner): c for c in resolve(conversations, RULES)}
    assert judged[("a", "cus_001")].resolved and judged[("a", "cus_001")].valid_turn == 2
    assert judged[("a", "cus_001")].valid_seconds == pytest.approx(40.5)  # the second turn's start plus its latency
    assert judged[("b", "cus_002")].resolved and judged[("b", "cus_002")].valid_actions == 1
    assert judged[("c", "cus_003")].repeated and not judged[("c", "cus_003")].resolved
    assert judged[("d", "cus_003")].resolved
    e = judged[("e", "cus_004")]
    assert e.handoff and not e.resolved and e.valid_turn is None  # a hand-off's receipt is not a valid action
    assert not judged[("f", "cus_005")].repeated and judged[("g", "cus_005")].resolved
    assert not judged[("h", "staff")].repeated and not judged[("h", "staff")].resolved
    assert judged[("shared", "cus_006")].resolved and not judged[("shared", "cus_007")].resolved
    silent = resolve(conversations, OutcomeRules(require_valid=False))
    assert sum(r.resolved for r in silent) == sum(r.resolved for r in judged.values()) + 3  # h, i, and cus_007's defect


def test_metrics_intervals_and_segments():
    csat = {"tr_" + "2".rjust(24, "0"): 5, "tr_" + "7".rjust(24, "0"): 2, "tr_" + "13".rjust(24, "0"): 1}
    report = outcomes_of(PLANTED, csat, RULES)
    o = report.overall
    assert o.conversations == 11 and o.turns == 13
    assert (o.fcr.k, o.fcr.n) == (6, 11) and o.fcr.low < 6 / 11 < o.fcr.high  # a, b, d, f, g, shared/cus_006
    assert (o.handoff.k, o.repeat.k, o.reached_valid.k) == (1, 1, 6)
    assert o.time_to_valid_turns.value == round(7 / 6, 4)
    assert o.csat.n == 3 and o.csat.value == round(8 / 3, 4) and o.csat.low <= o.csat.value <= o.csat.high
    assert (o.csat_satisfied.k, o.csat_satisfied.n) == (1, 3)
    # every conversation but b asked no action (a hand-off is not one): 12 turns, 5 accepted answers
    assert o.accepted_answers == 5 and o.cost_per_accepted_answer == pytest.approx(0.012 / 5)
    assert o.valid_actions == 1 and o.cost_per_accepted_action == pytest.approx(0.002)
    releases = report.segments["release"]
    assert set(releases) == {"corpus=corpus/bank@1", "corpus=corpus/bank@2"}
    assert releases["corpus=corpus/bank@2"].fcr.k == 1 and releases["corpus=corpus/bank@2"].fcr.n == 2
    assert report.segments["language"]["es"].conversations == 1
    assert report.segments["intent"]["flexpay"].fcr.k == 2  # a and d; c came back


def test_intervals():
    assert Share.of(0, 0, 0.95).value is None
    zero = Share.of(0, 20, 0.95)
    assert zero.value == 0 and zero.low == 0 and 0.1 < zero.high < 0.2  # Wilson: not the Wald interval's [0, 0]
    wide, narrow = Estimate.of([1, 5, 3, 4, 2], 0.95), Estimate.of([1, 5, 3, 4, 2] * 40, 0.95)
    assert wide.low < narrow.low <= 3 <= narrow.high < wide.high
    assert Estimate.of([4.0], 0.95) == Estimate(1, 4.0, 4.0, 4.0)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_the_report_is_recomputed_from_stored_traces_and_feedback(workspace):
    writer = TraceWriter(workspace)
    for t in PLANTED:
        writer.submit(t.to_dict())
    writer.close()
    for trace_id, score in (("tr_" + "2".rjust(24, "0"), 5), ("tr_" + "7".rjust(24, "0"), 2)):
        record_feedback(workspace, trace_id, tenant="larkspur-retail", csat=score)
    stored = outcome_report(workspace, rules=RULES)
    planted = outcomes_of(PLANTED, {"tr_" + "2".rjust(24, "0"): 5, "tr_" + "7".rjust(24, "0"): 2}, RULES)
    assert stored.to_dict() == planted.to_dict()
    assert stored.overall.csat.value == pytest.approx(3.5)
