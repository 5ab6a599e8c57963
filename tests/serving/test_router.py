"""The router on real `RouterPolicy` objects: the sample's policies, and small ones built for each rule."""

from __future__ import annotations

import pytest

from loopwright.errors import ConfigError
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.router import Router, RouterPolicy

CONFIG = DATA_DIR.parent / "config"
PRICES = (DATA_DIR / "prices.json").read_bytes()


def sample_policy(name: str = "router-economics.toml") -> RouterPolicy:
    return RouterPolicy.from_files((CONFIG / name).read_bytes(), PRICES, origin=name)


def policy(**routing) -> RouterPolicy:
    return RouterPolicy.model_validate(
        {
            "tiers": {
                "small": {"backend": "extractive", "price": "small", "options": {"evidence_spans": 1}},
                "large": {"backend": "extractive", "price": "large"},
            },
            "routing": {"small_intents": ["savings_rates", "flexpay", "fees"], "min_confidence": 0.7, "min_margin": 0.2,
                        "max_words": 25, **routing},
            "prices": {"small": {"input_per_1k": 0.0002, "output_per_1k": 0.0006},
                       "large": {"input_per_1k": 0.005, "output_per_1k": 0.015}},
        }
    )


def decide(router: Router, *, intent="savings_rates", confidence=0.95, margin=0.9, question="What is the Saver rate?",
           needs_tool=False, runner_up="fees", flags=None):
    return router.decide(intent=intent, confidence=confidence, margin=margin, runner_up=runner_up, question=question,
                         needs_tool=needs_tool, flags=flags)


def test_confident_faq_questions_go_to_the_small_tier():
    router = Router(sample_policy())
    for intent in ("flexpay", "savings_rates", "wire_transfer", "branch_hours"):
        d = decide(router, intent=intent, confidence=0.93, margin=0.85)
        assert (d.tier, d.escalated) == ("small", False), d
        assert d.reason == "confident FAQ (confidence 0.93)"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"confidence": 0.55}, "low confidence 0.55 < 0.70"),
        ({"confidence": 0.69}, "low confidence 0.69 < 0.70"),
        ({"margin": 0.1, "runner_up": "fees"}, "ambiguous: savings_rates vs fees (margin 0.10)"),
        ({"intent": "card_freeze", "needs_tool": True}, "intent card_freeze needs a tool"),
        ({"intent": "dispute_initiation"}, "intent dispute_initiation is not a small-tier intent"),
        ({"question": "What is the Saver rate and how does the Goal Saver bonus work when I move money in from "
                      "checking every month and also what happens at the end of the year"}, "multi-part question (32 words)"),
        ({"question": "What is the Saver rate? And the Goal Saver rate?"}, "multi-part question (10 words)"),
    ],
)
def test_escalates_for_each_reason_and_says_which(change, reason):
    d = decide(Router(sample_policy()), **{"confidence": 0.95, "margin": 0.9, **change})
    assert (d.tier, d.escalated) == ("large", True)
    assert reason in d.reason.split("; "), d.reason


def test_every_reason_is_listed_when_several_apply():
    d = decide(Router(sample_policy()), intent="card_lost", needs_tool=True, confidence=0.4, margin=0.05, runner_up="card_freeze")
    assert d.reason.split("; ") == [
        "intent card_lost is not a small-tier intent",
        "intent card_lost needs a tool",
        "low confidence 0.40 < 0.70",
        "ambiguous: card_lost vs card_freeze (margin 0.05)",
    ]


def test_the_first_deployed_policy_always_escalates():
    router = Router(sample_policy("router.toml"))
    for _ in range(30):  # the cap never demotes when there is no small tier to demote to
        d = decide(router, confidence=0.99)
        assert (d.tier, d.escalated, d.reason) == ("large", True, "small tier off")


def test_thresholds_are_inclusive_at_the_line():
    router = Router(policy())
    assert decide(router, confidence=0.7, margin=0.2).tier == "small"
    assert decide(router, question=" ".join(["word"] * 25)).tier == "small"
    assert decide(router, question=" ".join(["word"] * 26)).tier == "large"


def test_escalation_cap_lets_only_the_lowest_confidence_escalate():
    router = Router(policy(escalation_cap=0.5, cap_window=20))
    uncertain = [0.30 + 0.02 * i for i in range(20)]  # all below min_confidence 0.7
    first = [decide(router, confidence=c) for c in uncertain[:10]]
    assert all(d.escalated for d in first), "the cap needs 10 recent requests before it acts"

    # the window is all escalations (100% >= 50%): only confidences at or below the window's median escalate
    median = sorted(uncertain[:10])[4] + (sorted(uncertain[:10])[5] - sorted(uncertain[:10])[4]) / 2
    high = decide(router, confidence=0.60)
    assert (high.tier, high.escalated) == ("small", False)
    assert "low confidence 0.60 < 0.70" in high.reason and "escalation cap reached (100% >= 50%)" in high.reason
    assert f"lowest-50% line {median:.2f}" in high.reason
    low = decide(router, confidence=0.31)
    assert (low.tier, low.escalated) == ("large", True) and "cap" not in low.reason

    # under sustained uncertain traffic the escalated share settles near the cap, not at 100%
    decisions = [decide(router, confidence=c) for c in uncertain * 4]
    share = sum(d.escalated for d in decisions[-20:]) / 20
    assert 0.3 <= share <= 0.7, share
    demoted = [c for c, d in zip(uncertain * 4, decisions, strict=True) if not d.escalated]
    kept = [c for c, d in zip(uncertain * 4, decisions, strict=True) if d.escalated]
    assert sum(demoted) / len(demoted) > sum(kept) / len(kept)  # the demoted are the more confident


def test_tool_intents_escalate_even_past_the_cap():
    router = Router(policy(escalation_cap=0.2, cap_window=10))
    for _ in range(12):
        decide(router, confidence=0.5)
    assert decide(router, confidence=0.69).tier == "small"  # the cap is active...
    d = decide(router, intent="card_freeze", needs_tool=True, confidence=0.99)
    assert (d.tier, d.escalated) == ("large", True)  # ...but a tool call is never demoted


def test_without_a_cap_everything_uncertain_escalates():
    router = Router(policy())  # escalation_cap defaults to 1.0
    assert all(decide(router, confidence=0.5).escalated for _ in range(50))


def test_small_tier_flag_gates_the_small_tier():
    router = Router(policy(small_tier_flag="cheap-answers"))
    off = decide(router, flags={"cheap-answers": False})
    assert (off.tier, off.reason) == ("large", "flag cheap-answers is off for this caller")
    assert decide(router, flags={}).tier == "large"
    assert decide(router, flags={"cheap-answers": True}).tier == "small"


def test_a_caller_without_the_small_tier_flag_is_never_demoted_by_the_cap():
    router = Router(policy(small_tier_flag="cheap-answers", escalation_cap=0.2, cap_window=10))
    for _ in range(12):
        decide(router, confidence=0.4, flags={"cheap-answers": True})
    assert decide(router, confidence=0.69, flags={"cheap-answers": True}).tier == "small"  # the cap is active
    d = decide(router, confidence=0.99, flags={})
    assert (d.tier, d.escalated) == ("large", True), d.reason


def test_prices_and_costs():
    p = sample_policy()
    assert p.price_of("small").cost(1000, 1000) == pytest.approx(0.0008)
    assert p.price_of("large").cost(2000, 500) == pytest.approx(0.0175)
    assert p.price_of("large").cost(1000, 100) / p.price_of("small").cost(1000, 100) == pytest.approx(25)
    assert p.cache.enabled and p.cache.normalise and not sample_policy("router.toml").cache.enabled
    assert p.assistant_model == "larkspur-assistant" and p.mode == "governed"


@pytest.mark.parametrize(
    ("toml", "prices", "message"),
    [
        (b"mode = \"governed\"\n[tiers.large\n", PRICES, "router.toml:"),
        (b'[tiers.large]\nbackend = "extractive"\nprice = "gold"\n', PRICES, "price 'gold', not in prices.json"),
        (b'[tiers.large]\nbackend = "extractive"\nprice = "large"\n', PRICES, "routing names tier 'small'"),
        (b'[tiers.large]\nbackend = "extractive"\nprice = "large"\n[tiers.small]\nbackend = "extractive"\nprice = "small"\n'
         b"[routing]\nmin_confidence = 1.5\n", PRICES, "routing.min_confidence"),
        (b'colour = "blue"\n[tiers.large]\nbackend = "extractive"\nprice = "large"\n', PRICES, "colour: Extra inputs"),
        (b'mode = "sideways"\n[tiers.large]\nbackend = "extractive"\nprice = "large"\n', PRICES, "mode"),
        ((CONFIG / "router.toml").read_bytes(), b"{not json", "router.toml:"),
        (b"\xff\xfe", PRICES, "router.toml:"),
    ],
)
def test_invalid_policies_fail_on_load_naming_the_problem(toml, prices, message):
    with pytest.raises(ConfigError) as raised:
        RouterPolicy.from_files(toml, prices, origin="router.toml")
    assert message in raised.value.message, raised.value.message
    assert raised.value.message.startswith("router.toml:")


def test_passthrough_needs_no_routing_tiers():
    p = RouterPolicy.from_files(
        b'mode = "passthrough"\n[tiers.gpt-x]\nbackend = "openai"\nprice = "large"\noptions = { base_url = "http://x/v1" }\n',
        PRICES,
    )
    assert p.mode == "passthrough" and set(p.tiers) == {"gpt-x"}


def test_only_a_confident_out_of_scope_intent_is_declined_outright():
    router = Router(policy(out_of_scope_intents=["other"]))
    assert router.out_of_scope("other", 0.9, "customer") == "intent other is out of scope for this assistant"
    assert router.out_of_scope("other", 0.5, "customer") is not None  # the threshold itself declines
    # Unsure: the in-scope intents hold the larger share, so it routes (and escalates) like any unsure request.
    assert router.out_of_scope("other", 0.46, "customer") is None
    assert router.out_of_scope("other", 0.9, "agent") is None  # staff use the assistant as a knowledge tool
    assert router.out_of_scope("fees", 0.99, "customer") is None
    strict = Router(policy(out_of_scope_intents=["other"], out_of_scope_min_confidence=0.0))
    assert strict.out_of_scope("other", 0.1, "customer") is not None
    with pytest.raises(ValueError, match="out_of_scope_min_confidence"):
        policy(out_of_scope_min_confidence=1.5)
