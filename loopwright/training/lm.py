"""Training a small causal LM from scratch on this machine (no model hub): tokenizer, model, loop.

    texts (train, held-out) -> byte-level BPE tokenizer (vocab 2,048) -> LlamaForCausalLM (~3.7M params, context 512)
    -> AdamW on random 128-token windows of the packed train texts, fp32 (bf16 is slow on this CPU)

`train_lm` writes a Hugging Face checkpoint folder (config, safetensors,
tokenizer with a chat template, training.json with held-out perplexity) into
the training cache, keyed by the digest of the texts and the config, so a
second call, in any workspace, is a copy. `SampleLMConfig.small()` trains in
seconds for tests. The sample bank's texts are `loopwright.samples.bank.lm`'s.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.training.cache import TrainedFolder, cache_root, cached_folder

logger = logging.getLogger(__name__)

# Format ids predate the move out of loopwright.hf: kept, so cached folders (and the digests of what they
# register) stay valid.
FORMAT = "loopwright.hf.sample/1"


SPECIAL = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]


CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


Progress = Callable[[int, int, float], None]
"""Called after each training step with (step, total steps, loss)."""


@dataclass(frozen=True)
class SampleLMConfig:
    """How a small causal LM is built and trained. Stored in its training.json; part of its cache key."""

    vocab_size: int = 2048
    """BPE vocabulary, special tokens included."""
    hidden_size: int = 256
    """Model width."""
    layers: int = 4
    """Decoder layers."""
    heads: int = 4
    """Attention heads (as many key/value heads)."""
    intermediate_size: int = 688
    """MLP width."""
    context_length: int = 512
    """Longest sequence the model takes (rotary positions)."""
    steps: int = 300
    """Optimiser steps: ~4 minutes on 2 idle cores at the defaults (0.7 s a step)."""
    batch_size: int = 16
    """Windows per step."""
    seq_len: int = 128
    """Tokens per training window."""
    lr: float = 3e-3
    """Peak AdamW learning rate (linear warm-up, cosine decay)."""
    heldout_share: float = 0.1
    """Share of texts held out for perplexity."""
    seed: int = 0
    """Seeds the split hash, the initial weights and the window sampling."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.heads:
            raise InvalidInput(f"hidden_size {self.hidden_size} is not divisible by heads {self.heads}")
        if not 0 < self.heldout_share < 1:
            raise InvalidInput(f"heldout_share must be in (0, 1), got {self.heldout_share}")
        if self.seq_len > self.context_length or min(self.steps, self.batch_size, self.vocab_size) < 1:
            raise InvalidInput("seq_len must fit the context; steps, batch_size and vocab_size must be positive")

    @classmethod
    def small(cls) -> SampleLMConfig:
        """A ~0.2M-parameter model that trains in a few seconds: for tests."""
        return cls(vocab_size=1024, hidden_size=64, layers=2, heads=2, intermediate_size=172, steps=150, batch_size=8)


def build_tokenizer(texts: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts`, as a `PreTrainedTokenizerFast` with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _token_stream(tokenizer, texts: Sequence[str]):
    import torch

    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids += [tokenizer.bos_token_id, *encoded, tokenizer.eos_token_id]
    return torch.tensor(ids)


def train_loop(model, batches: Callable[[int], Any], steps: int, lr: float, progress: Progress | None) -> list[float]:
    """AdamW with linear warm-up and cosine decay; `batches(step)` gives (input_ids, labels). Returns the losses."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    model.train()
    losses = []
    for step in range(steps):
        input_ids, labels = batches(step)
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        if progress:
            progress(step + 1, steps, losses[-1])
    model.eval()
    return losses


def perplexity(model, tokenizer, texts: Sequence[str], max_length: int = 512) -> float:
    """exp(mean next-token NLL) over all tokens of `texts`, each scored alone (bos-prefixed, truncated to max_length)."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]][:max_length]
            x = torch.tensor([ids])  # (1, T)
            logits = model(input_ids=x).logits.float()  # (1, T, V)
            nll = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
            total += nll.item()
            count += len(ids) - 1
    return math.exp(total / max(count, 1))


def _train_into(folder: Path, config: SampleLMConfig, train: list[str], heldout: list[str], progress: Progress | None) -> None:
    from loopwright.hf.quantize import preload_torchao

    preload_torchao()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    started = time.perf_counter()
    tokenizer = build_tokenizer(train, config.vocab_size)
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.heads,
        max_position_embeddings=config.context_length,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ))
    before = perplexity(model, tokenizer, heldout, config.context_length)
    stream = _token_stream(tokenizer, train)  # (N,) all train texts, packed
    generator = torch.Generator().manual_seed(config.seed)

    def batches(step: int):
        starts = torch.randint(0, len(stream) - config.seq_len, (config.batch_size,), generator=generator)
        x = torch.stack([stream[s : s + config.seq_len] for s in starts])  # (B, T)
        return x, x  # the model shifts labels itself

    losses = train_loop(model, batches, config.steps, config.lr, progress)
    after = perplexity(model, tokenizer, heldout, config.context_length)
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar in CLI output
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    report = {
        "format": FORMAT,
        "config": asdict(config),
        "texts": {"train": len(train), "heldout": len(heldout), "train_tokens": len(stream)},
        "heldout_perplexity": {"untrained": before, "trained": after},
        "loss": {"first": losses[0], "last": losses[-1], "every_10": losses[::10]},
        "train_seconds": round(time.perf_counter() - started, 1),  # priced as the model's compute on a later cache hit
    }
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")




def train_lm(
    train: Sequence[str],
    heldout: Sequence[str],
    config: SampleLMConfig | None = None,
    *,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> TrainedFolder:
    """Train a causal LM on `train` (or take it from the cache), scoring perplexity on `heldout`; its folder
    holds config, weights, tokenizer and training.json."""
    config = config or SampleLMConfig()
    train, heldout = list(train), list(heldout)
    key = digest_of({"format": FORMAT, "config": asdict(config), "train": train, "heldout": heldout})
    started = time.perf_counter()
    if not use_cache:
        shutil.rmtree(cache_root() / "hf-sample" / key, ignore_errors=True)
    folder, hit = cached_folder("hf-sample", key, lambda f: _train_into(f, config, train, heldout, progress))
    seconds = time.perf_counter() - started
    logger.info("LM %s in %.1f s: %s", "from the cache" if hit else "trained", seconds, folder)
    return TrainedFolder(folder, key, hit, seconds)
