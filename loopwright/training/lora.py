"""LoRA training on chat examples: PEFT adapts the attention projections of a causal-LM checkpoint
folder, scoring only the assistant's answer tokens, and saves a PEFT folder (adapter_config.json,
adapter_model.safetensors) that `loopwright.hf.adapters.register_adapter` takes. Cached like the LM,
by the digest of the base weights, the config and the examples."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from loopwright.digests import digest_of
from loopwright.training.cache import TrainedFolder, cached_folder
from loopwright.training.lm import Progress, train_loop

Example = list[dict[str, str]]
"""One chat example: messages ending with the assistant's answer, the only tokens scored."""

ADAPTER_FORMAT = "loopwright.hf.sample-adapter/1"  # predates the move out of loopwright.hf; kept for the cache


@dataclass(frozen=True)
class LoraTrainConfig:
    """How a LoRA adapter is trained. Stored in its training.json; part of its cache key."""

    rank: int = 8
    """LoRA rank r."""
    alpha: int = 16
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    """Modules adapted in every layer: all of attention (q and v alone moved the small model's loss half as far)."""
    steps: int = 30
    """Optimiser steps, each over every example."""
    lr: float = 1e-2
    """Peak AdamW learning rate."""
    examples: int = 8
    """How many of the given examples are trained on (the first ones)."""
    seed: int = 0
    """Seeds the LoRA initialisation."""


def _answer_batch(tokenizer, examples: Sequence[list[dict[str, str]]]):
    """(input_ids, labels) for chat examples, right-padded; only the assistant's answer is scored."""
    import torch

    rows = []
    for messages in examples:
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        f_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        rows.append((f_ids, [-100] * len(p_ids) + f_ids[len(p_ids) :]))
    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i, _ in rows])  # (B, T)
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])  # pads are not scored
    return ids, labels


def _train_lora_into(
    folder: Path, base_folder: Path, base_name: str, examples: Sequence[Example], config: LoraTrainConfig, progress: Progress | None
) -> None:
    from loopwright.hf.quantize import preload_torchao

    preload_torchao()
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(base_folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base_folder, local_files_only=True, use_safetensors=True, dtype=torch.float32)
    torch.manual_seed(config.seed)
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=list(config.target_modules), lora_dropout=0.0, task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft calls a transformers property deprecated in v5: noise for a CLI user
        warnings.simplefilter("ignore", FutureWarning)
        model = get_peft_model(model, lora)
    batch = _answer_batch(tokenizer, examples)
    losses = train_loop(model, lambda step: batch, config.steps, config.lr, progress)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub
    adapter_config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
    adapter_config["base_model_name_or_path"] = base_name  # not the cache path it was trained from
    (folder / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2, sort_keys=True), "utf-8")
    report = {"format": ADAPTER_FORMAT, "config": asdict(config), "base": base_name, "loss": {"first": losses[0], "last": losses[-1]}}
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")


def train_lora(
    base_folder: Path,
    examples: Sequence[Example],
    config: LoraTrainConfig | None = None,
    *,
    base_name: str,
    progress: Progress | None = None,
) -> TrainedFolder:
    """Train a LoRA adapter on the checkpoint in `base_folder` with the first `config.examples` of
    `examples`, cached by inputs' digests. `base_name` goes in its adapter_config.json."""
    config = config or LoraTrainConfig()
    examples = list(examples)[: config.examples]
    weights = sorted(base_folder.glob("*.safetensors"))
    base_digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in weights]
    key = digest_of({"format": ADAPTER_FORMAT, "config": asdict(config), "base": base_digests, "base_name": base_name,
                     "examples": examples})
    started = time.perf_counter()
    folder, hit = cached_folder("hf-adapter", key, lambda f: _train_lora_into(f, base_folder, base_name, examples, config, progress))
    return TrainedFolder(folder, key, hit, time.perf_counter() - started)
