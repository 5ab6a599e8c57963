"""`learn prefs --method dpo|kto`: TRL's DPO and KTO on the sample LM as a LoRA adapter, from curated consented
feedback (thumbs, and agents' rewrites of bad answers as pairs), spot-checked, measured on the held-out pairs.

Real parts throughout: traces served by the in-process gateway, feedback through `record_feedback`,
curation, the review gate, TRL trainers on the session's sample LM (float32), the registry and receipts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from loopwright.errors import ConflictError, InvalidInput
from loopwright.learning.curate import curate
from loopwright.learning.feedback import Author, record_feedback
from loopwright.learning.preferences import learn_preferences, propose
from loopwright.learning.review import Decision, record_decisions, review_sample
from loopwright.policy.loader import deployed_policy
from loopwright.registry.artifacts import list_artifacts, read_file, register
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.payloads import AdapterTrain
from loopwright.registry.receipts import list_receipts
from loopwright.samples.bank.callcentre import adapter_traffic
from loopwright.training.preferences import PreferenceConfig

HELDOUT = "dataset/bank-prefs-heldout"
TINY = PreferenceConfig(epochs=2, lr=1e-2, batch_size=4, max_length=128)
REWRITE = "Chargeback grace is the 5 calendar days after a merchant promises a refund; the dispute stays open meanwhile. [1]"


def _counts(ws) -> tuple[int, int]:
    with ws.session() as s:
        return len(list_artifacts(ws)), len(list_receipts(s))


@pytest.fixture
def graded(triaged_bank, register_sample, serve):
    """The sample LM live on model:small; 12 served grace questions: 5 thumbed down with an agent's rewrite, 5 thumbed
    up, one thumbed down without consent and one rewritten by a customer (not a verified corrector); curated."""
    ws = triaged_bank
    model, _ = register_sample(ws)
    set_stable(ws, "model:small", model.ref, reason="test: the generator to adapt")
    served = serve(ws, [r for r in adapter_traffic(3) if r["intent"] == "chargeback_grace"][:12])
    policy = deployed_policy(ws)
    agent = Author("agent", "agt_ana.ruiz")
    for i, s in enumerate(served):
        if i < 5:
            record_feedback(ws, s["trace_id"], author=agent, policy=policy, thumbs=-1, text=REWRITE, consent=True)
        elif i < 10:
            record_feedback(ws, s["trace_id"], author=agent, policy=policy, thumbs=1, consent=True)
        elif i == 10:
            record_feedback(ws, s["trace_id"], author=agent, policy=policy, thumbs=-1, text=REWRITE, consent=False)
        else:
            record_feedback(ws, s["trace_id"], author=Author("customer", s["customer_id"]), policy=policy, thumbs=-1,
                            text="just give me my money", consent=True)
    return ws, curate(ws, "generator")


def _approve_all(ws, dataset: str) -> None:
    record_decisions(ws, dataset, [Decision(r["item"], "approve") for r in review_sample(ws, dataset)], reviewer="qa-script", scripted=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dpo_and_kto_adapters_from_curated_feedback_measured_on_the_heldout_pairs(graded):
    ws, curated = graded
    card, ref = curated.card, curated.artifact.ref
    # pairs: each of the five rewrites against the answer it replaced; the customer's "rewrite" and the unconsented one are not
    assert card["out"]["pairs"] == 5 and card["out"]["by_label"] == {"good": 10, "bad": 6} and card["dropped"]["unconsented"] == 1
    pairs = [json.loads(line) for line in read_file(ws, curated.artifact, "pairs.jsonl").decode().splitlines()]
    assert {p["chosen"] for p in pairs} == {REWRITE} and all(p["rejected"] != REWRITE for p in pairs)

    before = _counts(ws)
    with pytest.raises(ConflictError, match=rf"^{ref} has 0 of the 16 spot checks the policy requires"):
        learn_preferences(ws, ref, TINY, heldout=HELDOUT)
    with pytest.raises(InvalidInput, match=r"--rank 64 is over the policy cap \[adapters\] max_rank = 16"):
        learn_preferences(ws, ref, PreferenceConfig(rank=64), heldout=HELDOUT)
    _approve_all(ws, ref)
    # held-out prompts are never trained on: a "held-out" set made of the training prompts is refused
    leaky = register(ws, "dataset", "leaky-heldout", {"pairs.jsonl": read_file(ws, curated.artifact, "pairs.jsonl")}).ref
    after_leaky = _counts(ws)
    with pytest.raises(InvalidInput, match=rf"{ref} shares 5 prompt\(s\) with the held-out set {leaky}"):
        learn_preferences(ws, ref, TINY, heldout=leaky)
    assert _counts(ws) == after_leaky and after_leaky[0] == before[0] + 1

    dpo = learn_preferences(ws, ref, TINY, heldout=HELDOUT)
    base = get_deployment(ws).stable("model:small")
    assert dpo.registered and dpo.artifact.kind == "adapter" and dpo.artifact.parents[0] == base.digest
    assert dpo.artifact.config["rank"] == TINY.rank and dpo.artifact.config["target"] == "generator"
    held = dpo.metrics["heldout"]
    assert {k: v["n"] for k, v in held["before"]["by_language"].items()} == {"en": 12, "es": 9, "vi": 9}
    assert held["after"]["overall"]["mean_margin"] != held["before"]["overall"]["mean_margin"]  # the adapter moved the model
    # bf16 comes from timing both dtypes on this CPU (hf.precision.fast_dtype), never from TRL's default of True:
    # AVX512-BF16 machines measure it faster at some widths, so the value is the measurement's, not a constant
    assert dpo.metrics["rows"] == 5 and isinstance(dpo.metrics["training"]["bf16"], bool)
    with ws.session() as s:
        (receipt,) = list_receipts(s, subject=dpo.artifact.ref, action="adapter.train")
    assert isinstance(receipt.payload, AdapterTrain) and receipt.payload.details.job_id == dpo.job_id
    assert receipt.payload.details.target == "generator" and receipt.payload.details.base_digest == base.digest
    assert receipt.payload.details.data_digest == curated.artifact.digest

    kto = learn_preferences(ws, ref, PreferenceConfig(method="kto", epochs=1, batch_size=4, max_length=128), heldout=HELDOUT, name="prefs-kto")
    assert kto.metrics["rows"] == 16 and kto.artifact.digest != dpo.artifact.digest
    again = learn_preferences(ws, ref, TINY, heldout=HELDOUT)  # the same inputs: the cached files, the job that made them
    assert again.cache_hit and not again.registered and again.job_id == dpo.job_id

    # proposing: only a validated adapter reaches the release plane
    if not dpo.validated:
        with pytest.raises(ConflictError, match="is not proposed: held-out preference accuracy fell"):
            propose(ws, dpo)
    else:
        outcome = propose(ws, dpo)
        assert outcome["state"] in ("promoted", "canary", "rejected") and outcome["gate"] is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_refuses_an_unreviewed_dataset_in_one_line(graded):
    ws, curated = graded
    before = _counts(ws)
    env = {**os.environ, "LOOPWRIGHT_WORKSPACE": str(ws.root)}
    proc = subprocess.run([sys.executable, "-m", "loopwright", "learn", "prefs", "--method", "dpo", curated.artifact.ref],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {curated.artifact.ref} has 0 of the 16 spot checks") and proc.stderr.count("\n") == 1
    assert _counts(ws) == before
