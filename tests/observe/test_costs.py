"""Cost per accepted outcome across the three stages: jobs priced by the policy, amortised over what they served."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from loopwright.observe.costs import stage_costs
from loopwright.policy.schema import CostRules, PolicySet
from loopwright.registry.artifacts import register
from loopwright.registry.payloads import AdapterRegister, ModelRegister
from loopwright.serving.trace_store import TraceWriter

PRICES = PolicySet(costs=CostRules(compute_per_second=0.001, per_action={"adapter.register": 0.002}))


def call(n: int, day: int, bundle: dict, *, outcome: str = "accepted", cost: float = 0.01, purpose: str = "serve") -> dict:
    return {"id": f"tr_{n:024d}", "ts": f"2026-11-0{day}T00:00:{n:02d}.000000Z", "principal": {"tenant": "acme"},
            "channel": "stable", "deployment_version": 1, "model": "m", "bundle": bundle, "outcome": outcome,
            "latency_ms": 5.0, "cost": cost, "purpose": purpose, "cache": {"hit": False}}


@pytest.fixture
def served(workspace):
    """A dataset (no compute) -> a model fitted on it (10 s) and an adapter (4 s, its own price), a second model
    (6 s) that never served; four calls on the model, two of them with the adapter, and one golden run."""
    dataset = register(workspace, "dataset", "d", {"rows.jsonl": b"{}\n"})
    model = register(workspace, "model", "m", {"w": b"1"}, parents=[dataset.digest], receipt=ModelRegister, details={"compute_s": 10.0})
    adapter = register(workspace, "adapter", "a", {"w": b"2"}, parents=[model.digest], receipt=AdapterRegister, details={"compute_s": 4.0})
    register(workspace, "model", "idle", {"w": b"3"}, parents=[dataset.digest], receipt=ModelRegister, details={"compute_s": 6.0})
    on_model = {"model": {"ref": model.ref, "digest": model.digest}}
    with_adapter = {**on_model, "adapter": {"ref": adapter.ref, "digest": adapter.digest}}
    writer = TraceWriter(workspace)
    for record in (call(1, 1, on_model), call(2, 1, on_model, outcome="defect"), call(3, 2, with_adapter),
                   call(4, 2, with_adapter, outcome="declined"), call(5, 2, with_adapter, purpose="golden")):
        writer.submit(record)
    writer.close()
    return workspace


def test_jobs_are_priced_and_amortised_over_the_calls_they_served(served):
    whole = stage_costs(served, policy=PRICES)
    jobs = {j.ref: j for j in whole.jobs}
    assert set(jobs) == {"model/m@1", "adapter/a@1", "model/idle@1"}, "the dataset did no compute"
    assert jobs["model/m@1"].cost == pytest.approx(0.01) and jobs["model/m@1"].calls == 4  # the golden run is not traffic
    assert jobs["adapter/a@1"].cost == pytest.approx(0.008) and jobs["adapter/a@1"].calls == 2
    assert jobs["adapter/a@1"].stage == "self-learning" and jobs["model/m@1"].stage == "training"
    assert whole.cost == pytest.approx({"inference": 0.04, "training": 0.01, "self-learning": 0.008})
    assert whole.unserved == pytest.approx(0.006) and jobs["model/idle@1"].calls == 0
    assert whole.accepted == 2 and whole.per_accepted()["total"] == pytest.approx(0.058 / 2)


def test_a_window_carries_its_calls_share_of_each_job(served):
    day2 = stage_costs(served, since="2026-11-02T00:00:00Z", policy=PRICES)
    assert day2.calls == 2 and day2.accepted == 1
    assert day2.cost == pytest.approx({"inference": 0.02, "training": 0.005, "self-learning": 0.008})
    assert day2.to_dict()["per_accepted"]["training"] == pytest.approx(0.005)
    empty = stage_costs(served, until="2026-10-01T00:00:00Z", policy=PRICES)
    assert empty.calls == 0 and empty.per_accepted()["total"] is None


def test_cost_rules_refuse_an_unknown_action_or_a_negative_price():
    with pytest.raises(ValidationError, match="unknown receipt action 'adapter.trian'"):
        CostRules(per_action={"adapter.trian": 0.1})
    with pytest.raises(ValidationError, match="cannot be negative"):
        CostRules(per_action={"adapter.train": -1.0})
    assert CostRules(per_action={"adapter.train": 0.5}).price("adapter.train") == 0.5
    assert CostRules().price("triage.fit") == CostRules().compute_per_second


def test_a_new_kind_of_job_names_its_stage():
    from loopwright.observe.costs import JOB_STAGES, job_stage

    with pytest.raises(ValueError, match="self-learning or training"):
        job_stage("prefs.train", "inference")  # inference is what calls cost as served, not a job
    job_stage("prefs.train", "self-learning")
    try:
        assert JOB_STAGES["prefs.train"] == "self-learning"
    finally:
        del JOB_STAGES["prefs.train"]
