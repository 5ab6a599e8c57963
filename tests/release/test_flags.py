"""Feature flags: receipted changes, OpenFeature evaluation, sticky percentages, and use in routing."""

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.registry.deployment import get_deployment
from loopwright.registry.flags import FlagProvider, delete_flag, evaluate, set_flag
from loopwright.serving.router import Router, RouterPolicy


def test_flags_change_with_receipts_and_bump_the_deployment(workspace):
    v0 = get_deployment(workspace).version
    set_flag(workspace, "concise", enabled=True, description="shorter answers", reason="trial")
    set_flag(workspace, "concise", enabled=False)
    delete_flag(workspace, "concise")
    assert get_deployment(workspace).version == v0 + 3
    with workspace.session() as s:
        actions = [r.action for r in list_receipts(s, subject="flag/concise")]
        assert actions == ["flag.set", "flag.set", "flag.delete"]
        assert verify_chain(s, workspace).ok
    assert get_deployment(workspace).flags == {}


def test_percentage_flags_are_sticky_and_close_to_their_share(workspace):
    set_flag(workspace, "small-tier", enabled=True, percentage=30)
    flags = get_deployment(workspace).flags
    on = [evaluate(flags, "small-tier", f"cus_{i}") for i in range(4000)]
    assert 0.27 < sum(on) / len(on) < 0.33
    assert on == [evaluate(flags, "small-tier", f"cus_{i}") for i in range(4000)]
    assert evaluate(flags, "missing", "cus_1") is False


def test_openfeature_reasons(workspace):
    set_flag(workspace, "a", enabled=True)
    set_flag(workspace, "b", enabled=True, percentage=50)
    set_flag(workspace, "c", enabled=False)
    provider = FlagProvider(get_deployment(workspace).flags)
    ctx = EvaluationContext(targeting_key="cus_7")
    assert provider.resolve_boolean_details("a", False, ctx).reason == Reason.STATIC
    assert provider.resolve_boolean_details("b", False, ctx).reason == Reason.SPLIT
    assert provider.resolve_boolean_details("c", True, ctx).value is False
    missing = provider.resolve_boolean_details("nope", True, ctx)
    assert missing.value is True and missing.error_code == ErrorCode.FLAG_NOT_FOUND
    assert provider.resolve_boolean_details("b", False, None).error_code == ErrorCode.TARGETING_KEY_MISSING


def test_a_router_flag_gates_the_small_tier():
    policy = RouterPolicy.model_validate({
        "tiers": {"small": {"backend": "extractive", "price": "p"}, "large": {"backend": "extractive", "price": "p"}},
        "routing": {"small_intents": ["fees"], "small_tier_flag": "small-tier"},
        "prices": {"p": {"input_per_1k": 1, "output_per_1k": 1}},
    })
    router = Router(policy)
    ask = dict(intent="fees", confidence=0.99, margin=0.9, runner_up=None, question="What is the overdraft fee?", needs_tool=False)
    assert router.decide(**ask, flags={"small-tier": True}).tier == "small"
    off = router.decide(**ask, flags={"small-tier": False})
    assert off.tier == "large" and "flag small-tier is off" in off.reason


def test_a_canary_behind_its_flag_serves_whom_the_flag_is_on_for_sticky_per_customer(bank):
    from openfeature import api
    from openfeature.provider.no_op_provider import NoOpProvider

    from loopwright.corpus import commits
    from loopwright.registry.audit import verify_deployment
    from loopwright.release import releases
    from loopwright.serving.bundle import resolve_bundle

    commits.stage_certify(bank, "flexpay-2-0")
    good = commits.commit(bank, "certify FlexPay 2.0")
    customers = [f"cus_{i:03d}" for i in range(1, 1001)]  # the sample's book
    release, _ = releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True, reason="behind a flag", flag=True)
    dep = get_deployment(bank)
    assert dep.flags["canary.corpus"].percentage == 10.0
    on = {c for c in customers if resolve_bundle(dep, c).channel == "canary"}
    assert 70 <= len(on) <= 130  # a real sample: ~100 customers, not four
    api.set_provider(FlagProvider(dep.flags))  # the same answer from an ordinary OpenFeature client
    try:
        client = api.get_client()
        assert on == {c for c in customers if client.get_boolean_value("canary.corpus", False, EvaluationContext(targeting_key=c))}
    finally:
        api.set_provider(NoOpProvider())
    releases.step_up(bank, "corpus", 0.5, actor=None, evidence={"why": "test"})
    dep = get_deployment(bank)
    wider = {c for c in customers if resolve_bundle(dep, c).channel == "canary"}
    assert dep.flags["canary.corpus"].percentage == 50.0 and on < wider  # sticky: nobody leaves the canary as it grows
    releases.rollback(bank, "corpus", reason="done")
    dep = get_deployment(bank)
    assert "canary.corpus" not in dep.flags and all(resolve_bundle(dep, c).channel == "stable" for c in customers[:50])
    with bank.session() as s:
        assert [r.action for r in list_receipts(s, subject="flag/canary.corpus")] == ["flag.set", "flag.set", "flag.delete"]
        (start,) = list_receipts(s, subject=f"release/{release.id}", action="release.canary")
        assert start.payload.after.flag == "canary.corpus"
        assert verify_deployment(s).ok and verify_chain(s, bank).ok
