"""What a train recipe's objective computes: the network, its tokenizer, the examples and one batch's loss.

    classification   text -> encoder -> mean pool (B, H) -> Linear (B, K) -> cross-entropy on the intent
    mlm              text -> 15% of tokens masked (80% [MASK], 10% random, 10% kept) -> MaskedLM -> cross-entropy
    contrastive      (anchor, positive of the same intent) -> mean pool, L2-normalise -> in-batch InfoNCE (B, B)

A `Task` is built the same way in every process of a job (one, torchrun's, Ray's
workers): from the job spec alone, seeded, so each starts from identical
weights. Masking and positives are drawn from generators seeded by (seed, step)
or fixed at build time, never from a global RNG, so a resumed job sees exactly
the batches the uninterrupted one would have.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loopwright.embedding import MODEL_NAME, model_path
from loopwright.errors import ConfigError, InvalidInput
from loopwright.training.train_recipe import TrainRecipe

logger = logging.getLogger(__name__)


def base_path(recipe: TrainRecipe, resolved: str | None) -> Path | None:
    """The folder of the base checkpoint (None when training from a config)."""
    if recipe.model.from_config:
        return None
    if resolved:
        return Path(resolved)
    if recipe.model.base == MODEL_NAME:
        return model_path()
    folder = Path(str(recipe.model.base))
    if not (folder / "config.json").is_file():
        raise ConfigError(f"[model] base {recipe.model.base!r} is neither {MODEL_NAME}, a model artifact, nor a folder with config.json",
                          hint="name the packaged base, a `model/NAME@N` trained by `loopwright train`, or a Hugging Face folder")
    return folder


def load_tokenizer(recipe: TrainRecipe, base: Path | None):
    from transformers import AutoTokenizer

    # A model made from a config uses the packaged base's tokenizer: there is no model hub to fetch another.
    return AutoTokenizer.from_pretrained(base or model_path(), local_files_only=True)


def hf_config(recipe: TrainRecipe, vocab: int):
    """The Hugging Face config a `[model.config]` table names, checked against the tokenizer."""
    from transformers import AutoConfig

    options = dict(recipe.model.config or {})
    model_type = options.pop("model_type")
    try:
        config = AutoConfig.for_model(model_type, **options)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"[model.config] model_type {model_type!r} is not a known Hugging Face architecture",
                          hint=f"e.g. bert, roberta, distilbert ({str(exc).splitlines()[0][:80]})") from None
    if "vocab_size" not in options:
        config.vocab_size = vocab
    if config.vocab_size < vocab:
        raise ConfigError(f"the tokenizer does not fit: it has {vocab} tokens but [model.config] vocab_size is {config.vocab_size}",
                          hint=f"set vocab_size to at least {vocab}, or leave it out")
    return config


def extend_tokenizer(tokenizer, texts: list[str], recipe: TrainRecipe) -> dict[str, list[int]]:
    """Add frequent words the base cuts into many pieces; {new word: its base piece ids}, most frequent first."""
    from tokenizers import AddedToken

    spec = recipe.tokenizer
    backend = tokenizer.backend_tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        normalised = backend.normalizer.normalize_str(text) if backend.normalizer else text
        for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalised):
            if word.isalpha():
                counts[word] += 1
    vocab = tokenizer.get_vocab()
    added: dict[str, list[int]] = {}
    for word, count in counts.most_common():
        if count < spec.min_count or len(added) >= spec.max_new_tokens:
            break
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if word not in vocab and len(pieces) >= spec.min_pieces:
            added[word] = pieces
    # Words are added already normalised (the base lower-cases and strips accents), matched whole only.
    tokenizer.add_tokens([AddedToken(w, single_word=True, normalized=True) for w in added])
    return added


def init_from_pieces(model, tokenizer, added: dict[str, list[int]]) -> None:
    """Grow the input embeddings to the tokenizer; each new row is the mean of its word's sub-piece rows."""
    import torch

    old = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    weight = model.get_input_embeddings().weight
    with torch.no_grad():
        for word, pieces in added.items():
            weight[tokenizer.convert_tokens_to_ids(word)] = weight[pieces].mean(0)
    logger.info("tokenizer extended: %d -> %d tokens", old, len(tokenizer))


def freeze_bottom(model, layers: int) -> None:
    """Stop gradients below encoder layer `layers`: the embeddings and layers [0, layers) keep their weights.

    With no trainable weight beneath them, autograd records nothing for those layers, so the backward pass (about
    two thirds of a step's compute when everything trains) covers only the layers above.
    """
    base = getattr(model, "base_model", model)
    stack = getattr(getattr(base, "encoder", None), "layer", None)
    if getattr(base, "embeddings", None) is None or stack is None:
        raise ConfigError(f"[training] freeze_layers needs an encoder with embeddings and encoder.layer; "
                          f"{type(model).__name__} has neither", hint="set freeze_layers = 0 for this architecture")
    if layers >= len(stack):
        raise ConfigError(f"[training] freeze_layers = {layers} leaves nothing to train: the encoder has {len(stack)} layers",
                          hint=f"at most {len(stack) - 1}")
    for module in (base.embeddings, *stack[:layers]):
        module.requires_grad_(False)


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def mean_pool(hidden, mask):
    """(B, T, H), (B, T) -> (B, H): the mean of the unpadded tokens' states, as all-MiniLM-L6-v2 pools."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def encoder_classifier(encoder, num_classes: int):
    """The classification network: an encoder with a Linear head on its mean-pooled states."""
    import torch

    class EncoderClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, num_classes)

        def forward(self, input_ids, attention_mask, **_):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
            return self.head(mean_pool(hidden, attention_mask))  # (B, K)

    return EncoderClassifier()


@dataclass
class Task:
    """One objective, ready to train: `batch(rows, step)` tokenises, `loss(model, batch)` scores."""

    recipe: TrainRecipe
    tokenizer: Any
    model: Any
    examples: list[Any]
    classes: list[str] = field(default_factory=list)
    added_tokens: dict[str, list[int]] = field(default_factory=dict)

    def batch(self, rows: list[Any], step: int) -> dict[str, Any]:
        """Tokenised tensors for `rows` at `step` (the step seeds the masking)."""
        import torch

        kind, length = self.recipe.objective.kind, self.recipe.training.max_length
        if kind == "contrastive":
            texts = [a for a, _, _ in rows] + [p for _, p, _ in rows]
        else:
            texts = [r["text"] for r in rows]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=length, return_tensors="pt")
        out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if kind == "classification":
            out["labels"] = torch.tensor([self.classes.index(r["intent"]) for r in rows])
        elif kind == "mlm":
            out["input_ids"], out["labels"] = self._mask(enc["input_ids"], enc["attention_mask"], step)
        else:
            out["groups"] = torch.tensor([g for _, _, g in rows])
        return out

    def _mask(self, ids, attention, step: int):
        import torch

        gen = torch.Generator().manual_seed(self.recipe.seed * 1_000_003 + step)
        special = torch.tensor([[t in self.tokenizer.all_special_ids for t in row] for row in ids.tolist()])
        chosen = (torch.rand(ids.shape, generator=gen) < self.recipe.objective.mask_share) & attention.bool() & ~special
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        roll = torch.rand(ids.shape, generator=gen)
        random_ids = torch.randint(len(self.tokenizer), ids.shape, generator=gen)
        masked = torch.where(chosen & (roll < 0.8), torch.full_like(ids, self.tokenizer.mask_token_id), ids)
        masked = torch.where(chosen & (roll >= 0.8) & (roll < 0.9), random_ids, masked)
        return masked, labels

    def loss(self, model, batch: dict[str, Any]):
        """The batch's mean loss (a scalar tensor)."""
        import torch
        import torch.nn.functional as F

        kind = self.recipe.objective.kind
        if kind == "classification":
            return F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]), batch["labels"])
        if kind == "mlm":
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits  # (B, T, V)
            if not (batch["labels"] != -100).any():
                return logits.sum() * 0.0  # nothing masked in this shard: no signal, but every rank must backward
            return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100)
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        vectors = F.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)  # (2B, H)
        n = vectors.shape[0] // 2
        sims = vectors[:n] @ vectors[n:].T / self.recipe.objective.temperature  # (B, B): anchor i vs positive j
        groups = batch["groups"]
        same = (groups[:, None] == groups[None, :]) & ~torch.eye(n, dtype=torch.bool)
        sims = sims.masked_fill(same, float("-inf"))  # another row of the same intent is no negative
        target = torch.arange(n)
        return (F.cross_entropy(sims, target) + F.cross_entropy(sims.T, target)) / 2


def _pairs(rows: list[dict[str, Any]], seed: int) -> list[tuple[str, str, int]]:
    """(anchor, positive, intent index): each labelled text with another text of its intent, any language."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[str]] = {}
    for r in rows:
        by_intent.setdefault(r["intent"], []).append(r["text"])
    intents = sorted(by_intent)
    out = []
    for r in rows:
        others = [t for t in by_intent[r["intent"]] if t != r["text"]]
        if others:
            out.append((r["text"], others[int(rng.integers(len(others)))], intents.index(r["intent"])))
    return out


def build_task(recipe: TrainRecipe, data_dir: Path, base_dir: str | None) -> Task:
    """The recipe's network, tokenizer and examples, seeded: identical in every process that builds it."""
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # "weights not initialised" for a new MLM head is expected, not news
    rows = read_rows(data_dir / "train.jsonl")
    if recipe.data.max_examples:
        rows = rows[: recipe.data.max_examples]
    kind = recipe.objective.kind
    labelled = [r for r in rows if r.get("intent")]
    if kind != "mlm" and not labelled:
        raise InvalidInput(f"{recipe.data.dataset} has no labelled rows for the {kind} objective",
                           hint="classification and contrastive train on rows with an intent")
    base = base_path(recipe, base_dir)
    tokenizer = load_tokenizer(recipe, base)
    torch.manual_seed(recipe.seed)
    added: dict[str, list[int]] = {}
    if recipe.tokenizer.kind == "extend":
        wanted = set(recipe.tokenizer.languages)
        added = extend_tokenizer(tokenizer, [r["text"] for r in rows if r.get("language") in wanted], recipe)
    loader = AutoModelForMaskedLM if kind == "mlm" else AutoModel
    if base is None:
        config = hf_config(recipe, len(tokenizer))
        try:
            model = loader.from_config(config)
        except ValueError:
            raise ConfigError(f"[model.config] model_type {config.model_type!r} has no {'masked-LM' if kind == 'mlm' else 'encoder'} model",
                              hint="use an encoder architecture such as bert") from None
    else:
        model = loader.from_pretrained(base, local_files_only=True, dtype=torch.float32)
        rows_in = model.get_input_embeddings().weight.shape[0]
        if not added and len(tokenizer) > rows_in:
            raise ConfigError(f"the tokenizer does not fit: {len(tokenizer)} tokens for {rows_in} embedding rows in {base}")
    if kind != "mlm" and getattr(model, "pooler", None) is not None:
        model.pooler = None  # mean pooling replaces BERT's [CLS] pooler: unused weights would stall DDP's gradient sync
    if added:
        init_from_pieces(model, tokenizer, added)
    if recipe.training.freeze_layers:
        freeze_bottom(model, recipe.training.freeze_layers)
    if recipe.training.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    classes: list[str] = []
    if kind == "classification":
        classes = sorted({r["intent"] for r in labelled})
        model, examples = encoder_classifier(model, len(classes)), labelled
    elif kind == "contrastive":
        examples = _pairs(labelled, recipe.seed)
    else:
        examples = rows
    if not examples:
        raise InvalidInput(f"{recipe.data.dataset} gives no training examples for the {kind} objective")
    return Task(recipe, tokenizer, model, examples, classes, added)


def total_steps(recipe: TrainRecipe, examples: int) -> tuple[int, int]:
    """(steps per epoch, total steps): whole batches only, at least one step."""
    per_epoch = max(1, examples // recipe.training.batch_size)
    total = max(1, math.ceil(recipe.training.epochs * per_epoch))
    return per_epoch, min(total, recipe.training.max_steps or total)
