"""Rollback ends a canary in every state; the deployment table always equals the replay of its receipts;
a model that does not fit a slot's role is refused."""

from __future__ import annotations

import pytest

from loopwright.corpus import commits
from loopwright.errors import InvalidInput
from loopwright.registry import artifacts
from loopwright.registry.audit import replay_deployment, verify_deployment
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment
from loopwright.release.validation import deploy_checked
from loopwright.serving.triage import HEAD_FORMAT


def _certify_flexpay(bank):
    commits.stage_certify(bank, "flexpay-2-0")
    return commits.commit(bank, "certify FlexPay 2.0")


def _replay_matches(bank):
    with bank.session() as s:
        check = verify_deployment(s)
    assert check.ok, check.problems


def test_rollback_during_a_first_canary_ends_it_and_keeps_stable(bank):
    stable = get_deployment(bank).stable("corpus")
    good = _certify_flexpay(bank)
    release, _ = releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    receipt = releases.rollback(bank, "corpus", reason="first canary")
    dep = get_deployment(bank)
    assert dep.slots["corpus"].canary is None and dep.stable("corpus").digest == stable.digest
    assert receipt.before["canary"] == good.ref and receipt.after["digest"] == stable.digest
    assert releases.active(bank) == [] and releases.history(bank, "corpus")[0]["state"] == "rolled_back"
    _replay_matches(bank)


def test_rollback_during_a_later_canary_also_keeps_stable(bank):
    stable = get_deployment(bank).stable("corpus")
    good = _certify_flexpay(bank)
    releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    releases.promote(bank, "corpus")
    reverted = commits.revert(bank, "head")
    releases.start(bank, "corpus", reverted.ref, canary=0.2, skip_gate=True)
    releases.step_up(bank, "corpus", 0.5, actor=None, evidence={"why": "test"})
    releases.rollback(bank, "corpus")
    dep = get_deployment(bank)
    assert dep.slots["corpus"].canary is None and dep.stable("corpus").digest == good.digest
    releases.rollback(bank, "corpus")  # no canary now: back to what stable served before
    assert get_deployment(bank).stable("corpus").digest == stable.digest
    _replay_matches(bank)


def test_a_release_on_an_empty_slot_goes_to_stable_without_a_canary(bank):
    prompt = get_deployment(bank).stable("prompt")
    release, _ = releases.start(bank, "prompt:es", prompt.ref, canary=0.1, skip_gate=True)
    assert release.state == "promoted" and get_deployment(bank).stable("prompt:es").digest == prompt.digest
    with bank.session() as s:
        placed = replay_deployment(s)[("prompt:es", "stable")]
    assert placed.action == "release.promote" and placed.ungated  # --skip-gate: shown as ungated
    _replay_matches(bank)


def test_every_release_step_replays_to_the_table(bank):
    good = _certify_flexpay(bank)
    releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True)
    _replay_matches(bank)
    releases.step_up(bank, "corpus", 0.5, actor=None, evidence={"why": "test"})
    _replay_matches(bank)
    releases.abort(bank, "corpus")
    _replay_matches(bank)
    releases.start(bank, "corpus", good.ref, canary=0.3, skip_gate=True)
    releases.promote(bank, "corpus")
    _replay_matches(bank)
    with bank.session() as s:
        placed = replay_deployment(s)[("corpus", "stable")]
    assert placed.digest == good.digest and placed.action == "release.promote" and placed.ungated  # skipped its gate


def test_a_triage_head_is_refused_on_a_generation_slot(workspace):
    head = artifacts.register(workspace, "model", "triage", {"head.json": b"{}"}, config={"format": HEAD_FORMAT})
    with pytest.raises(InvalidInput, match="is a triage head; slot model:small holds a causal LM") as err:
        deploy_checked(workspace, "model:small", head.ref)
    assert "\n" not in err.value.one_line()
    lm = artifacts.register(workspace, "model", "lm", {"config.json": b"{}"}, config={"format": "hf", "task": "causal-lm"})
    with pytest.raises(InvalidInput, match="slot model:triage holds a triage head"):
        deploy_checked(workspace, "model:triage", lm.ref)
    encoder = artifacts.register(workspace, "model", "enc", {"config.json": b"{}"}, config={"format": "hf", "task": "encoder"})
    with pytest.raises(InvalidInput, match="is an encoder model; slot model:small holds a causal LM"):
        releases.start(workspace, "model:small", encoder.ref, skip_gate=True)
    assert get_deployment(workspace).slots == {}
