"""`learn adapter --target triage`: a LoRA adapter and head on the triage model, under the policy's caps, bound to its base.

Trained for real (MiniLM, PEFT, float32) on a tiny dataset (see tests/tiny_adapter.py), once per session.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from tiny_adapter import TINY, tiny_examples, train_tiny_adapter

from loopwright.embedding import get_embedder, model_path
from loopwright.errors import ConflictError, InvalidInput
from loopwright.learning.review import Decision, record_decisions, review_sample
from loopwright.learning.adapters import EXAMPLES_FILE, learn_triage_adapter, with_replay
from loopwright.samples.bank.catalog import INTENTS
from loopwright.registry.artifacts import list_artifacts, materialize, read_file, register
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.payloads import AdapterTrain
from loopwright.registry.receipts import list_receipts
from loopwright.release import releases
from loopwright.serving import triage_adapter
from loopwright.training.triage_adapter import TriageAdapterConfig


def _counts(ws) -> tuple[int, int]:
    with ws.session() as s:
        return len(list_artifacts(ws)), len(list_receipts(s))


def test_a_job_registers_an_adapter_bound_to_its_base_with_a_typed_receipt(triaged_bank):
    ws = triaged_bank
    job = train_tiny_adapter(ws)
    base = get_deployment(ws).stable("model:triage")
    adapter = job.artifact
    assert adapter.kind == "adapter" and triage_adapter.is_triage_adapter(adapter)
    assert adapter.parents[0] == base.digest and adapter.config["base_digest"] == base.digest
    assert set(adapter.files) == set(triage_adapter.FILES)
    assert adapter.config["rank"] == TINY.rank and adapter.config["target_modules"] == ["dense", "key", "query", "value"]
    with ws.session() as s:
        (receipt,) = list_receipts(s, subject=adapter.ref, action="adapter.train")
    payload = receipt.payload
    assert isinstance(payload, AdapterTrain)
    assert payload.after.digest == adapter.digest and payload.details.job_id == job.job_id
    assert payload.details.data_digest == adapter.config["data_digest"] and payload.details.base_digest == base.digest
    assert payload.details.caps["max_rank"] == 16 and payload.details.config["epochs"] == 1
    assert payload.details.metrics["target"]["intent"] == job.metrics["target"]["intent"]
    m = job.metrics
    assert set(m["held_out"]["before"]["by_language"]) <= {"en", "es", "vi"}
    assert m["forgetting"]["before"]["overall"]["n"] == len(INTENTS)  # one base test text per intent
    assert 0.0 <= m["target"]["before"]["defect_rate"] <= 1.0 and m["target"]["before"]["ci95"] is not None
    # The same inputs again: the cached files, the same artifact, no second registration.
    again = train_tiny_adapter(ws)
    assert again.cache_hit and not again.registered and again.artifact.digest == adapter.digest and again.job_id == job.job_id
    with ws.session() as s:
        assert len(list_receipts(s, action="adapter.train")) == 1


def _dataset(ws, name: str, rows: list[dict]) -> str:
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    return register(ws, "dataset", name, {EXAMPLES_FILE: body} if rows else {EXAMPLES_FILE: b"\n"}).ref


def test_refusals_name_the_problem_and_store_nothing(triaged_bank):
    ws = triaged_bank
    good = with_replay(ws, tiny_examples(), name="tiny-grace", replay="dataset/intents", per_intent=1).ref
    pii = _dataset(ws, "leaky", [*tiny_examples(3), {"text": "chargeback grace on card 4111 1111 1111 1111 ?", "intent": "chargeback_grace",
                                                     "language": "en", "source": "test"}])
    empty = _dataset(ws, "empty", [])
    alien = _dataset(ws, "alien", [{"text": "what's the weather", "intent": "weather", "language": "en", "source": "test"}])
    cases = [
        (good, TriageAdapterConfig(rank=64), "--rank 64 is over the policy cap [adapters.triage] max_rank = 16"),
        (good, TriageAdapterConfig(lr=0.1), "--lr 0.1 is over the policy cap [adapters.triage] max_lr = 0.002"),
        (good, TriageAdapterConfig(epochs=7), "--epochs 7 is over the policy cap [adapters.triage] max_epochs = 6"),
        (good, TriageAdapterConfig(alpha=64), "--alpha 64 is over the policy cap [adapters.triage] max_alpha = 32"),
        (good, TriageAdapterConfig(distill=20.0), "--distill 20.0 is over the policy cap [adapters.triage] max_distill = 10.0"),
        (good, TriageAdapterConfig(target_modules=("query", "word_embeddings")), "--target-modules word_embeddings is outside"),
        (empty, TINY, "dataset/empty@1 is empty: examples.jsonl holds no examples"),
        (pii, TINY, "dataset/leaky@1 holds raw personal data: example 4 has CREDIT_CARD"),
        (alien, TINY, "dataset/alien@1 has intents model/triage@1 does not know: weather"),
        ("dataset/intents", TINY, "dataset/intents@1 has no examples.jsonl"),
    ]
    before = _counts(ws)
    for dataset, config, message in cases:
        with pytest.raises(InvalidInput) as caught:
            learn_triage_adapter(ws, dataset, config)
        assert caught.value.one_line().startswith(message), (message, caught.value.one_line())
        assert "\n" not in caught.value.one_line()
    # The spot checks come first: unreviewed, then reviewed with too many rejections.
    with pytest.raises(ConflictError) as caught:
        learn_triage_adapter(ws, good, TINY)
    assert caught.value.one_line().startswith(f"{good} has 0 of the 40 spot checks the policy requires")
    assert _counts(ws) == before  # no artifact, no receipt
    sample = review_sample(ws, good)
    record_decisions(ws, good, [Decision(r["item"], "reject" if i < 4 else "approve") for i, r in enumerate(sample)],
                     reviewer="qa", scripted=True)
    with pytest.raises(ConflictError) as caught:
        learn_triage_adapter(ws, good, TINY)
    assert caught.value.one_line().startswith(f"{good}: 4 of 40 reviewed examples rejected (10.0%, the policy allows under 10%)")
    with pytest.raises(InvalidInput, match="--rank must be at least 1"):
        TriageAdapterConfig(rank=0)
    with pytest.raises(InvalidInput, match="--distill must be zero or more, got -1.0"):
        TriageAdapterConfig(distill=-1.0)
    with pytest.raises(InvalidInput, match=r"--layers must name MiniLM encoder layers 0 to 5, got \[6\]"):
        TriageAdapterConfig(layers=(6,))


def test_forgetting_on_the_held_out_set_has_a_paired_interval_per_intent_and_language(triaged_bank):
    ws = triaged_bank
    train_tiny_adapter(ws)
    dataset = list_artifacts(ws, "dataset", "tiny-grace")[-1]
    before = _counts(ws)
    with pytest.raises(InvalidInput) as caught:  # forgetting is measured on a held-out set, never on training data
        learn_triage_adapter(ws, dataset.ref, TINY, name="measured", forgetting="dataset/intents")
    assert caught.value.one_line().startswith("dataset/intents@1 is not a held-out set: it has no heldout.jsonl")
    assert _counts(ws) == before
    job = learn_triage_adapter(ws, dataset.ref, TINY, name="measured", forgetting="dataset/bank-forgetting", forgetting_per_intent=4)
    f = job.metrics["forgetting"]
    assert f["rows"] == f"dataset/bank-forgetting@1 (held out), {4 * len(INTENTS)} texts"
    target = job.metrics["target"]["intent"]
    assert set(f["drop_ci95"]) == set(f["drop_points"]) and f"intent:{target}" not in f["drop_points"]
    for key, (low, high) in f["drop_ci95"].items():
        assert low <= f["drop_points"][key] <= high, key
    assert f["other_intents"]["n"] == 4 * (len(INTENTS) - 1) and f["one_item_points"] == 25.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_distillation_keeps_the_base_distribution_on_its_training_texts(triaged_bank):
    """With a distillation weight the adapter stays nearer the base on the base's own texts than without one (the
    same examples, seed and steps): the term does what it is for, on texts outside the adapter's training rows."""
    from loopwright.serving.triage import softmax
    from loopwright.training.triage import TriageConfig, read_utterances, split_of
    from loopwright.training.triage_adapter import train_triage_adapter

    ws = triaged_bank
    base = get_deployment(ws).stable("model:triage")
    head = json.loads(read_file(ws, base, "head.json"))
    train = [(r["text"], r["intent"]) for r in tiny_examples()]
    texts = [r["text"] for r in read_utterances(ws, list_artifacts(ws, "dataset", "intents")[-1])
             if split_of(r["text"], TriageConfig()) == "train"]
    anchors, measured = texts[:96], texts[96:192]  # distilled on the first, measured on others the base also fitted
    embedder = get_embedder()

    def logits(vectors, doc):
        return vectors @ np.asarray(doc["coef"]).T + np.asarray(doc["intercept"])  # (N, K), as the trainer's softmax

    base_probs = softmax(logits(embedder.encode(measured), head))

    def drift(distill: float) -> float:
        config = TriageAdapterConfig(epochs=2, lr=2e-3, distill=distill)
        folder = train_triage_adapter(train, [], head, config, anchors=anchors).folder
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name in triage_adapter.FILES}
        adapted = softmax(logits(embedder.encode_adapted(measured, triage_adapter.lora_delta(files)), json.loads(files["head.json"])))
        return float((base_probs * (np.log(base_probs) - np.log(adapted))).sum(-1).mean())  # mean KL(base || adapter)

    plain, distilled = drift(0.0), drift(4.0)
    assert distilled < plain / 2, (plain, distilled)


def test_the_paired_interval_of_a_drop():
    from loopwright.learning.adapters import paired_drop_ci

    # Two of 120 forgotten, none gained: +1.7 points, an interval from a little gain (noise) to ~6 points lost.
    low, high = paired_drop_ci([True] * 120, [True] * 118 + [False] * 2)
    assert -2 < low < 0 < 1.67 < high < 6
    # Paired beats unpaired: 10 texts swapped both ways on 1,000 is no change, known to about a point.
    low, high = paired_drop_ci([True] * 900 + [False] * 100, [True] * 890 + [False] * 10 + [True] * 10 + [False] * 90)
    assert low < 0 < high and high - low < 2.5
    assert paired_drop_ci([], []) is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_adapter_for_another_base_is_refused_at_release(triaged_bank):
    ws = triaged_bank
    adapter = train_tiny_adapter(ws).artifact
    base = get_deployment(ws).stable("model:triage")
    head = json.loads(read_file(ws, base, "head.json"))
    other = register(ws, "model", "triage", {"head.json": json.dumps({**head, "temperature": head["temperature"] * 1.5}).encode(),
                                              "config.json": read_file(ws, base, "config.json")}, config=base.config)
    set_stable(ws, "model:triage", other.ref, reason="another head")
    with pytest.raises(InvalidInput, match=r"is for a different base: trained on model/triage@1 .* not model/triage@2"):
        releases.start(ws, "adapter:triage", adapter.ref, canary=0.1, skip_gate=True, reason="test")
    assert get_deployment(ws).slots.get("adapter:triage") is None
    with pytest.raises(InvalidInput, match="is a triage adapter; slot adapter:small adapts a causal LM"):
        releases.start(ws, "adapter:small", adapter.ref, canary=0.1, skip_gate=True, reason="test")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_served_vectors_are_pefts_and_retrieval_vectors_do_not_change(triaged_bank):
    """The hooks that serve the adapter compute what PEFT computes, and only inside the adapted call."""
    import torch
    from peft import PeftModel
    from transformers import AutoModel, AutoTokenizer

    from loopwright.training.triage_adapter import pooled

    ws = triaged_bank
    adapter = train_tiny_adapter(ws).artifact
    lora = triage_adapter.lora_delta({p: read_file(ws, adapter, p) for p in adapter.files})
    texts = ["is the chargeback grace still running on my refund?", "¿cuándo termina la gracia de contracargo?"]
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    plain_model = AutoModel.from_pretrained(model_path(), dtype=torch.float32).eval()
    reference_model = PeftModel.from_pretrained(AutoModel.from_pretrained(model_path(), dtype=torch.float32), materialize(ws, adapter)).eval()
    with torch.no_grad():
        reference, plain = pooled(reference_model, batch).numpy(), pooled(plain_model, batch).numpy()
        with lora.attached(plain_model):  # the serving hooks, in float32
            hooked = pooled(plain_model, batch).numpy()
        unhooked = pooled(plain_model, batch).numpy()
    change = np.abs(reference - plain).max()
    assert change > 1e-5 and np.abs(hooked - reference).max() < change / 100  # PEFT's output, to float32 rounding
    assert np.array_equal(unhooked, plain)  # the hooks are gone after the block
    # The process encoder (float32 or bf16, as measured faster here) serves the adapted vectors, and only those.
    embedder = get_embedder()
    before, query = embedder.encode(texts), embedder.encode_query(texts[0])
    served = embedder.encode_adapted(texts, lora)
    assert (served * reference).sum(axis=1).min() > 0.999  # cosine to PEFT's vectors
    assert np.array_equal(embedder.encode(texts), before) and np.array_equal(embedder.encode_query(texts[0]), query)
    # One text, the request path: only the top layer is adapted, so the trunk below it runs once for both vectors;
    # the traced top with the LoRA merged gives PEFT's vector, and the base one is left in the query cache for retrieval.
    assert lora.split == 5 and set(lora.encoder_weights()) == {m for m in lora.weights if m.startswith("encoder.layer.5.")}
    one = embedder.encode_adapted([texts[1]], lora)[0]
    assert lora._query_model and float(one @ reference[1]) > 0.999
    assert np.abs(embedder.encode_query(texts[1]) - before[1]).max() < 2e-3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_refuses_a_request_over_a_cap_in_one_line(triaged_bank):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LOOPWRIGHT_WORKSPACE": str(triaged_bank.root)}
    before = _counts(triaged_bank)
    proc = subprocess.run([sys.executable, "-m", "loopwright", "learn", "adapter", "--target", "triage", "dataset/bank-grace", "--rank", "32"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: --rank 32 is over the policy cap [adapters.triage] max_rank = 16") and proc.stderr.count("\n") == 1
    assert _counts(triaged_bank) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_samples_grace_dataset_is_spot_checked_by_a_script_recorded_as_one(triaged_bank):
    from loopwright.learning.review import review_status
    from loopwright.registry.payloads import DatasetReview
    from loopwright.samples.bank.review import REVIEWER

    ws = triaged_bank
    status = review_status(ws, "dataset/bank-grace")
    assert status.items == 600 and status.reviewed == status.quota == 50 and status.ready and status.rejected == 0
    with ws.session() as s:
        (receipt,) = list_receipts(s, subject="dataset/bank-grace@1", action="dataset.review")
    assert isinstance(receipt.payload, DatasetReview) and receipt.actor == REVIEWER
    assert receipt.payload.details.scripted and receipt.payload.details.reviewer == REVIEWER


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_first_adapters_canary_behind_its_flag_is_analysed_against_the_base_alone(triaged_bank, serve):
    """No adapter is stable on adapter:triage, so stable callers are served by the base head alone: those traces are
    the analysis's stable side (before, it found none and waited forever)."""
    from loopwright.samples.bank.callcentre import adapter_traffic
    from loopwright.serving.router import RouterPolicy

    ws = triaged_bank
    adapter = train_tiny_adapter(ws).artifact
    release, _ = releases.start(ws, "adapter:triage", adapter.ref, canary=0.5, skip_gate=True, reason="test", flag=True)
    assert get_deployment(ws).flags["canary.adapter.triage"].percentage == 50.0
    served = serve(ws, adapter_traffic(5)[:40])
    rules = RouterPolicy.from_artifact(ws, get_deployment(ws).stable("router")).canary
    result = releases.analyse(ws, releases.active(ws, "adapter:triage")[0], rules)
    counts = re.search(r"\(canary (\d+), stable (\d+)\)", result.reason)
    assert result.decision == "wait" and counts, result.reason  # under the minimum sample, with both sides counted
    canary_n, stable_n = int(counts[1]), int(counts[2])
    assert canary_n + stable_n == len(served) and canary_n > 5 and stable_n > 5
