"""The sample LM: its texts and split, its tokenizer, what training buys, the cache, and registering it."""

from __future__ import annotations

import json

from loopwright.hf.checkpoint import load_causal_lm, register_checkpoint
from loopwright.samples.bank.lm import SLOT, register_sample_lm, sample_texts, train_sample_lm
from loopwright.training.lm import SampleLMConfig, perplexity


def test_the_split_is_by_content_and_no_text_crosses_it():
    train, heldout = sample_texts()
    assert len(heldout) > 50 and len(train) > 8 * len(heldout)
    assert not set(train) & set(heldout)
    assert (train, heldout) == sample_texts(), "the split is a pure function of the texts"
    answers = [t for t in train if t.startswith("<|system|>")]
    assert answers and all("Evidence:\n[1] " in t and t.endswith("[1]</s>\n") for t in answers)


def test_the_tokenizer_renders_the_chat_format(sample_lm):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(sample_lm.folder, local_files_only=True)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert text == "<|user|>\nhi\n<|assistant|>\n"
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert len(tokenizer("<|assistant|>", add_special_tokens=False)["input_ids"]) == 1


def test_training_brings_heldout_perplexity_far_down(lite_workspace, sample_lm):
    report = sample_lm.report()
    ppl = report["heldout_perplexity"]
    assert ppl["trained"] < ppl["untrained"] / 10
    artifact = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    model, tokenizer = load_causal_lm(lite_workspace, artifact, dtype="float32")
    _, heldout = sample_texts()
    assert abs(perplexity(model, tokenizer, heldout[:20]) - perplexity(model, tokenizer, heldout[:20])) < 1e-6
    assert perplexity(model, tokenizer, heldout) < ppl["untrained"] / 10


def test_a_second_training_is_a_cache_hit(sample_lm, monkeypatch):
    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(sample_lm.folder.parent.parent))
    again = train_sample_lm(SampleLMConfig.small())
    assert again.cache_hit and again.folder == sample_lm.folder and again.seconds < 2


def test_register_sample_lm_deploys_on_the_small_slot(lite_workspace, sample_lm, monkeypatch):
    from loopwright.registry.deployment import get_deployment

    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(sample_lm.folder.parent.parent))
    result = register_sample_lm(lite_workspace, SampleLMConfig.small(), deploy=True)
    assert result.trained.cache_hit and result.artifact.ref == "model/bank-lm@1"
    assert get_deployment(lite_workspace).stable(SLOT).digest == result.artifact.digest
    assert result.artifact.config["training"] == json.loads((sample_lm.folder / "training.json").read_text())["config"]
    assert register_sample_lm(lite_workspace, SampleLMConfig.small(), deploy=True).deploy_receipt is None, "already live"
