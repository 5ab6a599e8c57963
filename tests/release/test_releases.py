"""Releases end to end on the sample bank: gate, canary, automated analysis, promotion, rollback."""

from __future__ import annotations

import json

import pytest

from loopwright.corpus import commits
from loopwright.errors import ConflictError, NotFound
from loopwright.learning.feedback import record_feedback
from loopwright.policy.principal import Principal
from loopwright.registry import artifacts
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment
from loopwright.release.judge import Observed, judge
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.serving.pipeline import ChatRequest, Gateway

SAVINGS = {"must_contain": ["3.80%"], "must_not_contain": ["2.25%"], "must_decline": False}
FLEXPAY = {"must_contain": ["$15"], "must_decline": False}
GOLDENS = [
    {"id": "s1", "input": "What is the APY on the Larkspur Saver account?", "tenant": "larkspur-retail", "critical": True, "must_cite": ["savings-rates-2026-10", "larkspur-saver"], **SAVINGS},
    {"id": "s2", "input": "Larkspur Saver interest rate?", "tenant": "larkspur-retail", "critical": True, **SAVINGS},
    {"id": "w1", "input": "How much does a domestic wire cost?", "tenant": "larkspur-retail", "critical": False, "must_contain": ["$25"]},
]


def _setup(bank, *, steps="[0.5, 1.0]", min_samples=20, critical='["defect_rate", "decline_rate", "latency_ms"]'):
    """A small golden suite and a router whose canary decides after a few dozen requests."""
    artifacts.register(bank, "goldens", "bank", {"goldens.jsonl": "".join(json.dumps(g) + "\n" for g in GOLDENS).encode()})
    toml = (CONFIG_DIR / "router.toml").read_text().replace("steps = [0.1, 0.5, 1.0]", f"steps = {steps}")
    toml = toml.replace("min_samples = 150", f"min_samples = {min_samples}\nmin_focus_samples = 15")
    toml = toml.replace('critical = ["defect_rate", "decline_rate", "latency_ms", "fcr"]', f"critical = {critical}")
    router = artifacts.register(
        bank, "router", "bank", {"router.toml": toml.encode(), "prices.json": artifacts.read_file(bank, artifacts.resolve(bank, "router/bank@1"), "prices.json")}
    )
    from loopwright.registry.deployment import set_stable

    set_stable(bank, "router", router.ref)


def _commit(bank, *ops, message):
    for op, arg in ops:
        if op == "add":
            commits.stage_add(bank, [arg])
        else:
            commits.stage_certify(bank, arg)
    return commits.commit(bank, message)


def _traffic(gateway, n, question, expect):
    """n callers ask `question`; the judge's verdict comes back as thumbs feedback."""
    gateway.watcher.refresh()
    channels = {"canary": 0, "stable": 0}
    for i in range(n):
        c = gateway.complete(
            ChatRequest(model="larkspur-assistant", messages=[{"role": "user", "content": question}]),
            Principal("larkspur-retail", "customer", subject=f"cus_{i:04d}", key_id="k"),
            sync_trace=True,
        )
        verdict = judge(expect, Observed.from_trace(c.trace))
        record_feedback(gateway.ws, c.trace_id, tenant="larkspur-retail", thumbs=1 if verdict.passed else -1)
        channels[c.trace.channel] += 1
    return channels


def test_bad_corpus_commit_is_stopped_by_the_gate(bank):
    _setup(bank)
    before = get_deployment(bank)
    bad = _commit(bank, ("add", bank.root / "bank" / "incident" / "savings-rates-2025-03.md"), message="import old rates table")
    release, report = releases.start(bank, "corpus", bad.ref, canary=0.1)
    assert release.state == "rejected" and not report["ok"]
    assert {f["id"] for f in report["failures"]} >= {"s1", "s2"}
    after = get_deployment(bank)
    assert after.stable("corpus").digest == before.stable("corpus").digest and after.slots["corpus"].canary is None
    with bank.session() as s:
        gate = [r for r in list_receipts(s, subject=f"release/{release.id}")]
    assert [r.action for r in gate] == ["release.gate"] and gate[0].after["passed"] is False


def test_forced_bad_canary_is_rolled_back_by_the_analysis(bank):
    _setup(bank)
    before = get_deployment(bank)
    bad = _commit(bank, ("add", bank.root / "bank" / "incident" / "savings-rates-2025-03.md"), message="import old rates table")
    release, report = releases.start(bank, "corpus", bad.ref, canary=0.5, skip_gate=True, reason="demo: force it")
    assert report is None and release.state == "canary"
    gateway = Gateway(bank, watch=False)
    try:
        channels = _traffic(gateway, 70, "What is the APY on the Larkspur Saver account?", SAVINGS)
    finally:
        gateway.close()
    assert channels["canary"] >= 20 and channels["stable"] >= 20
    actions = releases.tick(bank)
    assert [a["action"] for a in actions] == ["rolled_back"], actions
    after = get_deployment(bank)
    assert after.slots["corpus"].canary is None
    assert after.stable("corpus").digest == before.stable("corpus").digest
    for slot in ("prompt", "router", "policy"):
        assert after.stable(slot).digest == before.stable(slot).digest
    with bank.session() as s:
        steps = [r.action for r in list_receipts(s, subject=f"release/{release.id}")]
        assert steps == ["release.gate_skipped", "release.canary", "release.rollback"]
        rolled_back = list_receipts(s, subject=f"release/{release.id}")[-1]
        assert rolled_back.before["share"] == 0.5  # the share the canary ran at, not the 0 it ended at
        evidence = rolled_back.details["evidence"]
        assert any(m["regressed"] for m in evidence["metrics"])
        assert verify_chain(s, bank).ok


def test_good_change_passes_gate_canaries_and_is_promoted(bank):
    # Latency is not judged: canary answers the FlexPay questions that stable declines in a
    # fraction of the time, a real but expected shift on two-question traffic.
    _setup(bank, critical='["defect_rate", "decline_rate"]')
    artifacts.register(
        bank, "goldens", "bank",
        {"goldens.jsonl": "".join(json.dumps(g) + "\n" for g in [*GOLDENS, {"id": "f1", "input": "What is the FlexPay 2.0 late fee?", "tenant": "larkspur-retail", "critical": True, "must_cite": ["flexpay-2-0"], **FLEXPAY}]).encode()},
    )
    stable_corpus = get_deployment(bank).stable("corpus")
    good = _commit(bank, ("certify", "flexpay-2-0"), message="certify FlexPay 2.0")
    release, report = releases.start(bank, "corpus", good.ref, canary=0.5, reason="FlexPay 2.0 certified")
    assert report["ok"] and release.state == "canary"
    gateway = Gateway(bank, watch=False)
    try:
        # Savings questions never read the certified document: the step waits for requests that do.
        _traffic(gateway, 40, "What is the APY on the Larkspur Saver account?", SAVINGS)
        assert [a["action"] for a in releases.tick(bank)] == ["wait"]
        _traffic(gateway, 40, "What is the FlexPay 2.0 late fee?", FLEXPAY)
    finally:
        gateway.close()
    actions = releases.tick(bank)
    assert [a["action"] for a in actions] == ["promoted"], actions
    assert get_deployment(bank).stable("corpus").digest == good.digest
    history = releases.history(bank, "corpus")
    assert [r["action"] for r in history[0]["receipts"]] == ["release.gate", "release.canary", "release.promote"]
    # Rollback returns the slot, alone, to what it served before.
    receipt = releases.rollback(bank, "corpus", reason="test")
    assert receipt.after["digest"] == stable_corpus.digest
    assert get_deployment(bank).stable("corpus").digest == stable_corpus.digest


def test_one_release_per_slot_and_slots_are_independent(bank):
    _setup(bank)
    good = _commit(bank, ("certify", "flexpay-2-0"), message="certify FlexPay 2.0")
    releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    with pytest.raises(ConflictError, match="already has a release"):
        releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    prompt = artifacts.register(bank, "prompt", "bank", {**artifacts.files_from_dir(CONFIG_DIR / "prompt"), "system.md": b"Be brief and cite."})
    releases.start(bank, "prompt", prompt.ref, canary=0.2, skip_gate=True)
    assert {r.slot for r in releases.active(bank)} == {"corpus", "prompt"}
    releases.abort(bank, "prompt")
    dep = get_deployment(bank)
    assert dep.slots["prompt"].canary is None and dep.slots["corpus"].canary.digest == good.digest
    with pytest.raises(NotFound):
        releases.promote(bank, "prompt")


def test_rollback_by_hand_ends_a_canary_and_names_a_target(bank):
    _setup(bank)
    first = get_deployment(bank).stable("corpus")
    good = _commit(bank, ("certify", "flexpay-2-0"), message="certify FlexPay 2.0")
    releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    receipt = releases.rollback(bank, "corpus", to=first.ref, reason="hold the release")
    assert receipt.before["canary"] == good.ref
    assert get_deployment(bank).slots["corpus"].canary is None
    with pytest.raises(ConflictError, match="already serves"):
        releases.rollback(bank, "corpus", to=first.ref)
