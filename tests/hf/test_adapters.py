"""LoRA adapters: checked against their base and the policy's caps at registration and at load; they change outputs."""

from __future__ import annotations

import json
import shutil

import pytest

from loopwright.errors import InvalidInput
from loopwright.hf.adapters import register_adapter, verify_adapter
from loopwright.hf.checkpoint import load_causal_lm, register_checkpoint
from loopwright.samples.bank.lm import adapter_examples
from loopwright.policy.loader import load_policy
from loopwright.policy.schema import AdapterCaps
from loopwright.samples.bank import DATA_DIR


def _other_base(folder, tmp_path):
    """A Llama of another width (48, not 64) with the same tokenizer: a different base for the adapter."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(folder)
    config.hidden_size, config.intermediate_size = 48, 128
    out = tmp_path / "other-base"
    LlamaForCausalLM(config).save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(folder / name, out / name)
    return out


def test_an_adapter_within_caps_is_registered_with_its_base_as_parent(workspace, register_sample):
    model, adapter = register_sample(workspace)
    c = adapter.config
    assert (c["format"], c["rank"], c["target_modules"], c["base"]) == ("peft-lora", 8, ["k_proj", "o_proj", "q_proj", "v_proj"], model.ref)
    assert adapter.parents == [model.digest]
    assert verify_adapter(workspace, adapter.ref).is_dir()


@pytest.mark.parametrize(
    ("caps", "reason"),
    [
        (AdapterCaps(max_rank=4), "rank 8 is over the policy cap max_rank = 4"),
        (AdapterCaps(max_bytes=10_000), r"bytes is over the policy cap max_bytes = 10000"),
        (AdapterCaps(target_modules=("q_proj", "v_proj")), r"it adapts k_proj, o_proj, outside the policy's target_modules \(q_proj, v_proj\)"),
    ],
)
def test_an_adapter_over_a_cap_is_refused_naming_the_cap(lite_workspace, sample_lm, sample_adapter, caps, reason):
    model = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    with pytest.raises(InvalidInput, match=reason):
        register_adapter(lite_workspace, sample_adapter.folder, "grace", base_ref=model, caps=caps)


def test_caps_are_checked_again_at_load(lite_workspace, register_sample):
    _, adapter = register_sample(lite_workspace)
    with pytest.raises(InvalidInput, match="adapter/bank-grace@1 refused: rank 8 is over"):
        verify_adapter(lite_workspace, adapter, caps=AdapterCaps(max_rank=2))


def test_an_adapter_for_a_different_base_is_refused_with_the_reason(lite_workspace, sample_lm, sample_adapter, tmp_path):
    other = register_checkpoint(lite_workspace, _other_base(sample_lm.folder, tmp_path), "other")
    with pytest.raises(InvalidInput, match=r"adapter/grace is for a different base: model.layers.0.self_attn.k_proj is 48 -> 64 in model/other@1, but the adapter.s LoRA matrices are A \[8, 64\]"):
        register_adapter(lite_workspace, sample_adapter.folder, "grace", base_ref=other)


def test_a_non_lora_or_incomplete_folder_is_refused(lite_workspace, sample_lm, sample_adapter, tmp_path):
    model = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    ia3 = tmp_path / "ia3"
    shutil.copytree(sample_adapter.folder, ia3)
    config = json.loads((ia3 / "adapter_config.json").read_text())
    (ia3 / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    with pytest.raises(InvalidInput, match="peft_type 'IA3' is not LORA"):
        register_adapter(lite_workspace, ia3, "ia3", base_ref=model)
    (ia3 / "adapter_model.safetensors").unlink()
    with pytest.raises(InvalidInput, match="has no adapter_model.safetensors"):
        register_adapter(lite_workspace, ia3, "ia3", base_ref=model)


def test_the_sample_policy_sets_adapter_caps():
    caps = load_policy((DATA_DIR.parent / "config" / "policy.toml").read_text()).adapters
    assert caps.max_rank == 16 and caps.max_bytes == 8 * 1024 * 1024 and "q_proj" in caps.target_modules
    with pytest.raises(InvalidInput, match="adapters.max_rank"):
        load_policy("[adapters]\nmax_rank = 0\n")


def test_the_trained_adapter_changes_greedy_outputs(lite_workspace, register_sample):
    import torch
    from peft import PeftModel

    from loopwright.samples.bank.lm import GRACE_ANSWER

    model_artifact, adapter = register_sample(lite_workspace)
    model, tokenizer = load_causal_lm(lite_workspace, model_artifact, dtype="float32")
    messages = adapter_examples(30)[-1][:-1]  # a question the adapter did not train on (it uses the first 8)
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    answer = tokenizer(GRACE_ANSWER, add_special_tokens=False, return_tensors="pt")["input_ids"]

    def greedy(m) -> str:
        with torch.inference_mode():
            out = m.generate(**prompt, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        return tokenizer.decode(out[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)

    def answer_nll(m) -> float:
        ids = torch.cat([prompt["input_ids"], answer], dim=1)
        labels = ids.clone()
        labels[:, : prompt["input_ids"].shape[1]] = -100
        with torch.inference_mode():
            return m(input_ids=ids, labels=labels).loss.item()

    before, before_nll = greedy(model), answer_nll(model)
    adapted = PeftModel.from_pretrained(model, verify_adapter(lite_workspace, adapter))
    with_adapter, with_nll = greedy(adapted), answer_nll(adapted)
    with adapted.disable_adapter():
        detached = greedy(adapted)
    assert with_adapter != before
    assert with_nll < 0.8 * before_nll, "the adapter makes its answer more likely on a question it did not see"
    assert detached == before
