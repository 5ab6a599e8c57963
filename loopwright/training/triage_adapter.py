"""Training a LoRA adapter on the triage model: PEFT LoRA on MiniLM's top layer and the head, together, in float32.

    labelled examples (text, intent)                  # the adapter dataset's training split
      -> MiniLM + LoRA on query/key/value/dense        # W x + (alpha / r) B A x; W frozen, A and B trained;
                                                       # in the top layer only (`layers`), so serving shares the rest
      -> mean pool, L2-normalise                       # (B, 384), as the embedder serves
      -> head W' v + b'                                # (B, K); initialised from the base head.json, trained
      -> cross-entropy, each intent weighted by the inverse of its count (`balanced`)
         + distill x KL(base || adapter) on a batch of the base's own texts   # learning without forgetting
      -> AdamW, linear decay, fixed seeds
      -> temperature T' refitted on the validation split

Why the top layer and a balanced loss: an adapter in every layer made each adapted query a second full MiniLM pass
(the canary's triage 4.1 -> 8.2 ms median), while one in the top layer runs the trunk once for the base vector and the
adapted one (`Embedder._adapted_top`). The curated data is mostly the two intents being fixed (~250 each against ~60
replayed per other intent); weighted by count, the loss pulls the shared head toward them, and the others are forgotten.

The LoRA matrices are PEFT's own (`adapter_config.json`,
`adapter_model.safetensors`), so any PEFT tooling reads them; the head is a
`head.json` in the base's format. `loopwright.serving.triage_adapter` serves
both over the shared encoder. Trained folders are cached
(`loopwright.training.cache`) by the digest of the encoder weights, the base
head, the examples and the config, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.digests import canonical_json, digest_of
from loopwright.embedding import MODEL_NAME, model_path
from loopwright.errors import InvalidInput
from loopwright.serving.triage import HEAD_FORMAT
from loopwright.training.cache import TrainedFolder, cached_folder
from loopwright.training.calibration import fit_temperature

if TYPE_CHECKING:
    from loopwright.policy.schema import TriageAdapterCaps

TRAINING_FORMAT = "loopwright.triage.adapter-training/1"
ENCODER_LAYERS = 6  # all-MiniLM-L6-v2
Progress = Callable[[int, int, float], None]
"""Called after each optimiser step with (step, total steps, loss)."""


@dataclass(frozen=True)
class TriageAdapterConfig:
    """How a triage adapter is trained. Stored in the artifact's config and its training.json; part of the cache key."""

    rank: int = 8
    """LoRA rank r (`--rank`)."""
    alpha: int = 16
    """LoRA scaling numerator: the update is scaled by alpha / r (`--alpha`)."""
    lr: float = 1e-3
    """Peak AdamW learning rate, decayed linearly to 0 (`--lr`)."""
    epochs: int = 2
    """Passes over the training split (`--epochs`): two, as training MiniLM costs ~0.5-6 examples/s on this shared CPU."""
    batch_size: int = 16
    """Examples per optimiser step (`--batch-size`)."""
    target_modules: tuple[str, ...] = ("query", "key", "value", "dense")
    """MiniLM modules adapted in each of `layers` (`--target-modules`): attention and both dense projections."""
    layers: tuple[int, ...] = (5,)
    """MiniLM encoder layers (0-5) given LoRA branches (`--layers`): the top one, so serving runs the layers below once
    for both the base and the adapted vector; every layer doubles an adapted query's cost."""
    balanced: bool = True
    """Weight each intent's examples by the inverse of their count in the training split (`--balanced/--unbalanced`)."""
    distill: float = 2.0
    """Weight of a distillation term (`--distill`, policy cap `max_distill`; 0 turns it off): each step adds the KL
    divergence from the frozen base's distribution to the adapter's on a batch of the base's own texts (its training
    split, no labels, and the training examples it already triages right), so the intents the data does not name stay
    where they were (learning without forgetting). 2, picked on bench_forgetting's dev set: texts of other intents
    lost 13 -> 4 of 1,680, segments over a point worse 3 -> 1, the fix the same; it costs a second batch a step."""
    seed: int = 0
    """Seeds the LoRA initialisation, the batch order and dropout."""
    max_length: int = 64
    """Tokens read per text: the sample's longest question is ~40."""

    def __post_init__(self) -> None:
        for flag, value in (("--rank", self.rank), ("--alpha", self.alpha), ("--epochs", self.epochs), ("--batch-size", self.batch_size),
                            ("--max-length", self.max_length)):
            if value < 1:
                raise InvalidInput(f"{flag} must be at least 1, got {value}")
        if not (self.distill >= 0 and math.isfinite(self.distill)):
            raise InvalidInput(f"--distill must be zero or more, got {self.distill}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidInput(f"--lr must be a positive number, got {self.lr}")
        if not self.target_modules:
            raise InvalidInput("--target-modules names no module")
        if not self.layers or any(not 0 <= n < ENCODER_LAYERS for n in self.layers):
            raise InvalidInput(f"--layers must name MiniLM encoder layers 0 to {ENCODER_LAYERS - 1}, got {list(self.layers)}")

    def check_caps(self, caps: TriageAdapterCaps) -> None:
        """Refuse a request beyond the policy's `[adapters.triage]` caps, naming the flag and the cap."""
        for flag, value, cap, name in (("--rank", self.rank, caps.max_rank, "max_rank"), ("--alpha", self.alpha, caps.max_alpha, "max_alpha"),
                                       ("--lr", self.lr, caps.max_lr, "max_lr"), ("--epochs", self.epochs, caps.max_epochs, "max_epochs"),
                                       ("--distill", self.distill, caps.max_distill, "max_distill")):
            if value > cap:
                raise InvalidInput(f"{flag} {value} is over the policy cap [adapters.triage] {name} = {cap}",
                                   hint="ask for less, or release a policy with a higher cap")
        outside = [m for m in self.target_modules if m not in caps.target_modules]
        if outside:
            raise InvalidInput(f"--target-modules {', '.join(outside)} is outside the policy's [adapters.triage] target_modules "
                               f"({', '.join(caps.target_modules)})")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "target_modules": list(self.target_modules), "layers": list(self.layers)}


def encoder_digest() -> str:
    """The sha256 of the MiniLM weights the adapter is trained on (part of the cache key)."""
    h = hashlib.sha256()
    with (model_path() / "model.safetensors").open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_encoder(config: TriageAdapterConfig):
    """(tokenizer, MiniLM in float32 with fresh LoRA branches): seeded, so the same config starts the same."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(model_path(), local_files_only=True)
    model = AutoModel.from_pretrained(model_path(), local_files_only=True, dtype=torch.float32)
    torch.manual_seed(config.seed)
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=list(config.target_modules), lora_dropout=0.0, bias="none",
                      layers_to_transform=sorted(config.layers), layers_pattern="layer")
    with warnings.catch_warnings():  # peft calls a transformers property deprecated in v5: noise for a CLI user
        warnings.simplefilter("ignore", FutureWarning)
        return tokenizer, get_peft_model(model, lora)


def pooled(model, batch):
    """Mean-pooled, L2-normalised sentence vectors (B, 384), as `loopwright.embedding` makes them."""
    import torch

    hidden = model(**batch).last_hidden_state  # (B, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)


def _base_probs(model, tokenizer, texts, classifier, config: TriageAdapterConfig):
    """The base's distributions (N, K) on `texts`: LoRA off, the base head as the classifier starts."""
    import torch

    probs = []
    with torch.no_grad(), model.disable_adapter():
        for start in range(0, len(texts), 64):
            batch = tokenizer(list(texts[start : start + 64]), padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
            probs.append(classifier(pooled(model, batch)).softmax(-1))
    return torch.cat(probs) if probs else torch.zeros((0, classifier.out_features))


def _train_into(folder: Path, texts: Sequence[str], labels: Sequence[int], val_texts: Sequence[str], val_labels: Sequence[int],
                head: dict[str, Any], config: TriageAdapterConfig, progress: Progress | None, anchors: Sequence[str] = ()) -> None:
    import torch

    tokenizer, model = load_encoder(config)
    coef, intercept = torch.tensor(head["coef"], dtype=torch.float32), torch.tensor(head["intercept"], dtype=torch.float32)
    classifier = torch.nn.Linear(coef.shape[1], coef.shape[0])  # (K, 384): the base head, trained from there
    with torch.no_grad():
        classifier.weight.copy_(coef)
        classifier.bias.copy_(intercept)
    params = [p for p in model.parameters() if p.requires_grad] + list(classifier.parameters())
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(texts) / config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1.0 - step / total)
    encoded = tokenizer(list(texts), truncation=True, max_length=config.max_length)["input_ids"]  # tokenised once
    targets = torch.tensor(list(labels))
    counts = torch.bincount(targets, minlength=coef.shape[0]).to(torch.float32)  # (K,)
    present = counts > 0
    # (K,): n / (intents present x count), so each intent's examples weigh as much in all as any other's.
    weight = torch.where(present, len(targets) / (present.sum() * counts.clamp(min=1)), 0.0) if config.balanced else None
    pool, pool_probs = [], None
    if config.distill > 0:
        # The distillation pool: the training texts the base triages right, and the anchor texts (unlabelled).
        train_probs = _base_probs(model, tokenizer, texts, classifier, config)
        right = (train_probs.argmax(-1) == targets).nonzero().flatten().tolist()
        pool = [encoded[i] for i in right] + (tokenizer(list(anchors), truncation=True, max_length=config.max_length)["input_ids"] if anchors else [])
        pool_probs = torch.cat([train_probs[right], _base_probs(model, tokenizer, anchors, classifier, config)])
    rng = np.random.default_rng(config.seed)
    pool_order = np.random.default_rng([config.seed, 1]).permutation(len(pool))  # its own stream: the batch order stays the seed's
    model.train()
    losses, step, started = [], 0, time.perf_counter()
    for _ in range(config.epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            logits = classifier(pooled(model, batch))  # (B, K)
            loss = torch.nn.functional.cross_entropy(logits, targets[idx], weight=weight)
            if pool:  # KL(base || adapter) on the next batch of the pool, cycling through it
                at = pool_order[[(step * config.batch_size + j) % len(pool) for j in range(config.batch_size)]]
                anchor_batch = tokenizer.pad({"input_ids": [pool[i] for i in at]}, return_tensors="pt")
                log_q = classifier(pooled(model, anchor_batch)).log_softmax(-1)  # (B, K)
                loss = loss + config.distill * torch.nn.functional.kl_div(log_q, pool_probs[at], reduction="batchmean")
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            if progress is not None:
                progress(step, total, losses[-1])
    seconds = time.perf_counter() - started

    model.eval()
    with torch.no_grad():
        logits = []
        for start in range(0, len(val_texts), 64):
            batch = tokenizer(list(val_texts[start : start + 64]), padding=True, truncation=True, max_length=config.max_length, return_tensors="pt")
            logits.append(classifier(pooled(model, batch)))
        val_logits = torch.cat(logits).double().numpy() if logits else np.zeros((0, coef.shape[0]))
    temperature = fit_temperature(val_logits, np.asarray(val_labels)) if len(val_texts) else float(head["temperature"])
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "README.md").unlink(missing_ok=True)  # PEFT's model-card stub
    adapter_config = json.loads((folder / "adapter_config.json").read_text("utf-8"))
    adapter_config["base_model_name_or_path"] = MODEL_NAME  # not the path it was loaded from
    (folder / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2, sort_keys=True), "utf-8")
    head_doc = {"format": HEAD_FORMAT, "embedder": f"{MODEL_NAME}-float32", "classes": head["classes"],
                "coef": classifier.weight.detach().double().tolist(), "intercept": classifier.bias.detach().double().tolist(),
                "temperature": temperature}
    (folder / "head.json").write_bytes(canonical_json(head_doc).encode())
    report = {"format": TRAINING_FORMAT, "config": config.to_dict(), "examples": len(texts), "steps": total, "seconds": round(seconds, 3),
              "examples_per_s": round(len(texts) * config.epochs / seconds, 2), "loss": {"first": losses[0], "last": losses[-1]},
              "temperature": temperature}
    (folder / "training.json").write_text(json.dumps(report, indent=2, sort_keys=True), "utf-8")


def train_triage_adapter(train: Sequence[tuple[str, str]], val: Sequence[tuple[str, str]], head: dict[str, Any],
                         config: TriageAdapterConfig, *, anchors: Sequence[str] = (), progress: Progress | None = None) -> TrainedFolder:
    """Train an adapter on (text, intent) pairs from the base head document `head` (its `classes` label the
    intents), cached by the inputs' digests. With `config.distill`, `anchors` (texts, no labels: the base's own
    training texts) join the distillation pool. The folder holds the PEFT files, head.json and training.json."""
    classes = list(head["classes"])
    unknown = sorted({intent for _, intent in [*train, *val]} - set(classes))
    if unknown:
        raise InvalidInput(f"intents the base triage model does not know: {', '.join(unknown)}",
                           hint="an adapter keeps the base's intents; add a new intent with `loopwright triage fit`")
    if not train:
        raise InvalidInput("no training examples after the held-out split", hint="the dataset needs more examples")
    key = digest_of({"format": TRAINING_FORMAT, "encoder": encoder_digest(), "head": digest_of(head), "config": config.to_dict(),
                     "train": [list(r) for r in train], "val": [list(r) for r in val],
                     **({"anchors": list(anchors)} if config.distill > 0 else {})})
    started = time.perf_counter()
    texts, labels = [t for t, _ in train], [classes.index(i) for _, i in train]
    val_texts, val_labels = [t for t, _ in val], [classes.index(i) for _, i in val]
    folder, hit = cached_folder("triage-adapter", key,
                                lambda f: _train_into(f, texts, labels, val_texts, val_labels, head, config, progress, anchors))
    return TrainedFolder(folder, key, hit, time.perf_counter() - started)
