"""Checkpoints as model artifacts: what registration refuses, what loading verifies, int8 and dtype."""

from __future__ import annotations

import shutil

import pytest

from loopwright.errors import IntegrityError, InvalidInput
from loopwright.hf.checkpoint import load_causal_lm, load_encoder, register_checkpoint, verified_folder
from loopwright.hf.quantize import is_quantized, quantize_int8, weight_bytes


def _greedy(model, tokenizer, text: str, n: int = 12) -> str:
    import torch

    ids = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=n, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1] :])


def test_register_describes_the_checkpoint(workspace, sample_lm):
    artifact = register_checkpoint(workspace, sample_lm.folder, "bank-lm")
    c = artifact.config
    assert (c["format"], c["task"], c["architecture"], c["model_type"]) == ("hf", "causal-lm", "LlamaForCausalLM", "llama")
    assert c["context_length"] == 512 and 100_000 < c["parameters"] < 1_000_000
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(artifact.files)
    assert register_checkpoint(workspace, sample_lm.folder, "bank-lm").version == 1, "same files, same version"


def test_loads_and_generates(lite_workspace, sample_lm):
    artifact = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    model, tokenizer = load_causal_lm(lite_workspace, artifact.ref, dtype="float32")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert _greedy(model, tokenizer, "The late fee").strip()


def test_a_tampered_blob_is_refused_on_load(lite_workspace, sample_lm):
    artifact = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    blob = lite_workspace.blobs.path(artifact.files["model.safetensors"]["digest"])
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match its digest"):
        load_causal_lm(lite_workspace, artifact, dtype="float32")


def test_a_tampered_cached_folder_is_rewritten_from_the_blobs(lite_workspace, sample_lm):
    artifact = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    folder = verified_folder(lite_workspace, artifact)
    (folder / "config.json").write_text('{"architectures": ["Evil"], "model_type": "llama"}')
    (folder / "extra.bin").write_bytes(b"pickle")
    again = verified_folder(lite_workspace, artifact)
    assert (again / "config.json").read_bytes() == (sample_lm.folder / "config.json").read_bytes()
    assert not (again / "extra.bin").exists()


def test_a_missing_tokenizer_is_refused(workspace, sample_lm, tmp_path):
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(sample_lm.folder, folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    with pytest.raises(InvalidInput, match="no-tokenizer: missing tokenizer"):
        register_checkpoint(workspace, folder, "broken")


def test_pickled_weights_are_refused(lite_workspace, sample_lm, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(sample_lm.folder, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(InvalidInput, match=r"pickled weights are refused \(pytorch_model.bin\)"):
        register_checkpoint(lite_workspace, folder, "pickled")


def test_a_config_without_architecture_and_a_wrong_task_are_refused(lite_workspace, sample_lm, tmp_path):
    folder = tmp_path / "noarch"
    shutil.copytree(sample_lm.folder, folder)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(InvalidInput, match="names no architecture"):
        register_checkpoint(lite_workspace, folder, "noarch")
    with pytest.raises(InvalidInput, match="task encoder needs an encoder"):
        register_checkpoint(lite_workspace, sample_lm.folder, "lm", task="encoder")


def test_int8_weights_are_smaller_and_still_generate(lite_workspace, sample_lm):
    artifact = register_checkpoint(lite_workspace, sample_lm.folder, "bank-lm")
    fp32, tokenizer = load_causal_lm(lite_workspace, artifact, dtype="float32")
    int8, _ = load_causal_lm(lite_workspace, artifact, quantize="int8")
    assert is_quantized(int8) and not is_quantized(fp32)
    assert weight_bytes(int8) < 0.7 * weight_bytes(fp32)
    assert _greedy(int8, tokenizer, "The late fee").strip()
    dynamic = quantize_int8(load_causal_lm(lite_workspace, artifact, dtype="float32")[0], "dynamic")
    assert is_quantized(dynamic) and _greedy(dynamic, tokenizer, "The late fee").strip()
    with pytest.raises(InvalidInput, match="unknown int8 scheme 'int4'"):
        quantize_int8(fp32, "int4")
    with pytest.raises(InvalidInput, match="int8 quantisation starts from float32"):
        load_causal_lm(lite_workspace, artifact, quantize="int8", dtype="bfloat16")
    with pytest.raises(InvalidInput, match="unknown quantisation 'int4'"):
        load_causal_lm(lite_workspace, artifact, quantize="int4")


def test_the_minilm_encoder_loads_and_survives_int8(lite_workspace):
    import torch

    from loopwright.embedding import model_path

    artifact = register_checkpoint(lite_workspace, model_path(), "minilm", task="encoder")
    assert artifact.config["architecture"] == "BertModel" and artifact.config["parameters"] > 20_000_000
    fp32, tokenizer = load_encoder(lite_workspace, artifact, dtype="float32")
    int8 = quantize_int8(load_encoder(lite_workspace, artifact, dtype="float32")[0])
    batch = tokenizer(["how much is the late fee", "I lost my card"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        a, b = fp32(**batch).last_hidden_state[:, 0], int8(**batch).last_hidden_state[:, 0]
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.98


def test_the_dtype_is_measured_unless_named(monkeypatch):
    from loopwright.errors import ConfigError
    from loopwright.hf.precision import fast_dtype, measured_dtype

    monkeypatch.setenv("LOOPWRIGHT_DTYPE", "auto")
    assert fast_dtype(width=64, rows=1) == measured_dtype(64, 1) in ("float32", "bfloat16")
    monkeypatch.setenv("LOOPWRIGHT_DTYPE", "bfloat16")
    assert fast_dtype(width=64, rows=1) == "bfloat16"
    monkeypatch.setenv("LOOPWRIGHT_DTYPE", "fp8")
    with pytest.raises(ConfigError, match="LOOPWRIGHT_DTYPE='fp8' is not one of auto, float32, bfloat16"):
        fast_dtype()


def test_the_dtype_measurement_runs_on_one_thread_and_restores_the_thread_count():
    import torch

    from loopwright.hf.precision import _best_seconds

    threads = torch.get_num_threads()
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x * 2

    assert _best_seconds(Probe(), torch.ones(4), 3) >= 0
    assert seen == [1] * 4  # the warm-up and three timed runs, each on one thread
    assert torch.get_num_threads() == threads
