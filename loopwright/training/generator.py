"""Training a small causal LM to answer from numbered evidence: copy the span that answers, cite it as [n].

    examples: chat messages (system, user turn holding "[1] ... [2] ..." and the question, assistant answer)
    -> byte-level BPE tokenizer on the examples' text -> LlamaForCausalLM from a config
    -> AdamW on whole examples, loss on the assistant's turn only (B, T) right-padded, fp32

Unlike `loopwright.training.lm` (random windows of packed text: a language model
of the documents), every step here sees whole prompts as the gateway renders
them, and only the answer's tokens are scored, so the steps go to what the
generator must learn: which span answers, copying it, and the citation mark.
The folder lands in the training cache keyed by the examples and the config
(`train_generator`), so a second call, in any workspace, is a copy.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.training.cache import TrainedFolder, cached_folder
from loopwright.training.lm import CHAT_TEMPLATE, Progress, build_tokenizer, train_loop

logger = logging.getLogger(__name__)

FORMAT = "loopwright.training.generator/1"

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class GeneratorConfig:
    """How the evidence-answering LM is built and trained. Stored in its training.json; part of its cache key."""

    vocab_size: int = 3072
    """BPE vocabulary, special tokens included: large enough that most words are one token (shorter copies)."""
    hidden_size: int = 128
    """Model width."""
    layers: int = 3
    """Decoder layers."""
    heads: int = 4
    """Attention heads (as many key/value heads)."""
    intermediate_size: int = 352
    """MLP width."""
    context_length: int = 768
    """Longest sequence the model takes; a longer example is dropped from training, a longer prompt is a 400."""
    steps: int = 300
    """Optimiser steps: whole prompts of ~300 tokens are ~6x the tokens of a `training.lm` window batch."""
    batch_size: int = 8
    """Examples per step."""
    lr: float = 2e-3
    """Peak AdamW learning rate (linear warm-up, cosine decay)."""
    seed: int = 0
    """Seeds the initial weights and the example sampling."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads:
            raise InvalidInput(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")
        if min(self.steps, self.batch_size, self.vocab_size, self.layers) < 1:
            raise InvalidInput("steps, batch_size, vocab_size and layers must be positive")

    @classmethod
    def small(cls) -> GeneratorConfig:
        """A tiny model that trains in seconds: for tests (it learns the format, not the bank)."""
        return cls(vocab_size=1024, hidden_size=64, layers=2, heads=2, intermediate_size=172, steps=60, batch_size=4)


def encode_example(tokenizer, messages: Messages) -> tuple[list[int], int]:
    """(token ids, where the answer starts): bos, the prompt through the chat template, the answer, eos."""
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
    prompt_ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    answer_ids = tokenizer(messages[-1]["content"], add_special_tokens=False)["input_ids"]
    return [*prompt_ids, *answer_ids, tokenizer.eos_token_id], len(prompt_ids)


def _train_into(folder: Path, config: GeneratorConfig, examples: list[Messages], progress: Progress | None) -> None:
    from loopwright.hf.quantize import preload_torchao

    preload_torchao()
    import torch
    from jinja2 import Template
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    chat = Template(CHAT_TEMPLATE)
    tokenizer = build_tokenizer([chat.render(messages=m, eos_token="</s>") for m in examples], config.vocab_size)
    encoded = [encode_example(tokenizer, m) for m in examples]
    kept = [e for e in encoded if len(e[0]) <= config.context_length]
    if not kept:
        raise InvalidInput(f"no training example fits the context of {config.context_length} tokens")
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers, num_attention_heads=config.heads, num_key_value_heads=config.heads,
        max_position_embeddings=config.context_length, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    generator = torch.Generator().manual_seed(config.seed)
    pad = tokenizer.pad_token_id

    def batches(step: int):
        picked = [kept[i] for i in torch.randint(0, len(kept), (config.batch_size,), generator=generator).tolist()]
        width = max(len(ids) for ids, _ in picked)
        x = torch.full((len(picked), width), pad)  # (B, T), right-padded: causal attention never reads the pads
        y = torch.full((len(picked), width), -100)  # only the answer (and its eos) is scored
        for row, (ids, start) in enumerate(picked):
            x[row, : len(ids)] = torch.tensor(ids)
            y[row, start : len(ids)] = torch.tensor(ids[start:])
        return x, y

    started = time.perf_counter()
    losses = train_loop(model, batches, config.steps, config.lr, progress)
    seconds = time.perf_counter() - started
    hf_logging.disable_progress_bar()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    report = {
        "format": FORMAT,
        "config": asdict(config),
        "examples": {"given": len(examples), "trained": len(kept), "too_long": len(examples) - len(kept),
                     "answer_tokens": sum(len(ids) - start for ids, start in kept)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(seconds, 1),
        "loss": {"first": losses[0], "last": losses[-1], "every_20": losses[::20]},
    }
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")


def train_generator(examples: Sequence[Messages], config: GeneratorConfig | None = None, *,
                    progress: Progress | None = None) -> TrainedFolder:
    """Train an evidence-answering causal LM on chat `examples` (the last message is the answer to learn), or
    take it from the cache; its folder holds config, weights, tokenizer (with the chat template) and training.json."""
    config = config or GeneratorConfig()
    examples = [list(m) for m in examples]
    if not examples or any(not m or m[-1].get("role") != "assistant" for m in examples):
        raise InvalidInput("every generator example must end with the assistant's answer")
    key = digest_of({"format": FORMAT, "config": asdict(config), "examples": examples})
    started = time.perf_counter()
    folder, hit = cached_folder("generator", key, lambda f: _train_into(f, config, examples, progress))
    seconds = time.perf_counter() - started
    logger.info("generator %s in %.1f s: %s", "from the cache" if hit else "trained", seconds, folder)
    return TrainedFolder(folder, key, hit, seconds)
