"""Train recipes: the typed TOML file `loopwright train RECIPE` reads.

    name = "triage"                          # the model artifact it makes: model/triage
    [data]       dataset = "dataset/bank-multilingual"      # a prepared dataset (`loopwright data prepare`)
    [tokenizer]  kind = "base" | "extend"                   # extend: new es/vi words, embeddings from their sub-pieces
    [model]      base = "all-MiniLM-L6-v2"  or  [model.config] model_type = "bert" ...
    [objective]  kind = "classification" | "mlm" | "contrastive"
    [optimizer]  [schedule]  [training]

Every field is documented below; unknown keys are errors naming the file, the
line and the field (the same parser as data recipes). The recipe's bytes are
stored in the model artifact it makes (`recipe.toml`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from loopwright.embedding import MODEL_NAME
from loopwright.training.recipes import read_recipe, validate_toml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Data(_Strict):
    """What the job trains on: a prepared `dataset` artifact's splits."""

    dataset: str = Field(min_length=1)
    """The dataset artifact (`dataset/NAME[@N]`), made by `loopwright data prepare`: train.jsonl, val.jsonl, test.jsonl."""
    max_examples: int | None = Field(None, ge=1)
    """Train on the first N rows of train.jsonl only (curriculum order): a demo-sized run."""
    order: Literal["curriculum", "shuffle"] = "curriculum"
    """`curriculum`: the first epoch in the dataset's order (easy first), seeded shuffles after; `shuffle`: every epoch shuffled."""


class Tokenizer(_Strict):
    """The tokenizer: the base's, or the base's extended with words of the named languages."""

    kind: Literal["base", "extend"] = "base"
    """`base`: the checkpoint's own; `extend`: add the training split's frequent words in `languages` that the base
    splits into `min_pieces` or more sub-pieces, each new embedding the mean of its sub-pieces' embeddings."""
    languages: tuple[Literal["en", "es", "vi"], ...] = ("es", "vi")
    """Languages whose words may be added."""
    max_new_tokens: int = Field(400, ge=1, le=50_000)
    """At most this many words are added (most frequent first)."""
    min_count: int = Field(3, ge=1)
    """A word must occur this often in the training split."""
    min_pieces: int = Field(3, ge=2)
    """A word is added only if the base tokenizer cuts it into at least this many pieces."""


class Model(_Strict):
    """The network: a base checkpoint, or a fresh Hugging Face architecture from a config."""

    base: str | None = MODEL_NAME
    """A base checkpoint: `all-MiniLM-L6-v2` (the packaged one) or a local Hugging Face folder. Set `config` instead to
    train from random weights."""
    config: dict[str, Any] | None = None
    """A Hugging Face config (`model_type = "bert"`, `hidden_size`, `num_hidden_layers`...): random weights of that
    architecture, with the base's tokenizer. Its `vocab_size` must fit the tokenizer."""

    @model_validator(mode="before")
    @classmethod
    def _config_has_no_base(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("config") is not None:
            if data.get("base") is not None:
                raise ValueError("give `base` or `config`, not both")
            data = {**data, "base": None}
        return data

    @model_validator(mode="after")
    def _one(self) -> Model:
        if self.config is None and self.base is None:
            raise ValueError("give `base` or `config`")
        if self.config is not None and not isinstance(self.config.get("model_type"), str):
            raise ValueError("`config` needs a model_type (e.g. \"bert\")")
        return self

    @property
    def from_config(self) -> bool:
        return self.config is not None


class Objective(_Strict):
    """What the network learns."""

    kind: Literal["classification", "mlm", "contrastive"] = "classification"
    """`classification`: intents, encoder and head fine-tuned together (a triage model); `mlm`: masked-LM continued
    pretraining on every text; `contrastive`: pairs of texts of the same intent (in-batch negatives) for the embedder."""
    mask_share: float = Field(0.15, gt=0.0, lt=1.0)
    """mlm: share of tokens masked (80% [MASK], 10% random, 10% kept)."""
    temperature: float = Field(0.05, gt=0.0)
    """contrastive: softmax temperature over cosine similarities."""


class Optimizer(_Strict):
    """AdamW."""

    lr: float = Field(5e-5, gt=0.0)
    """Peak learning rate of the encoder."""
    head_lr: float | None = Field(None, gt=0.0)
    """classification: learning rate of the freshly initialised head (default: `lr`)."""
    weight_decay: float = Field(0.01, ge=0.0)
    """Decoupled weight decay (not on biases and LayerNorm)."""
    betas: tuple[float, float] = (0.9, 0.999)
    """Adam's moment decay rates."""
    grad_clip: float | None = Field(1.0, gt=0.0)
    """Clip the global gradient norm to this; none to not clip."""


class Schedule(_Strict):
    """The learning-rate schedule: linear warm-up, then `kind` down to zero at the last step."""

    kind: Literal["linear", "cosine", "constant"] = "linear"
    """Decay after warm-up."""
    warmup_steps: int = Field(0, ge=0)
    """Steps of linear warm-up from zero."""


class Training(_Strict):
    """How long, how big, and how the job is kept safe."""

    batch_size: int = Field(32, ge=1)
    """Examples per optimiser step, across all processes (each of N processes takes batch_size / N)."""
    epochs: float = Field(1.0, gt=0.0)
    """Passes over the training rows (fractional allowed); `max_steps` caps it."""
    max_steps: int | None = Field(None, ge=1)
    """At most this many optimiser steps."""
    max_length: int = Field(64, ge=8, le=512)
    """Tokens read per text."""
    checkpoint_every: int = Field(50, ge=1)
    """Save a checkpoint (model, optimiser, scheduler, RNG states, data position) every N steps; `--resume` continues
    from the last one."""
    keep_checkpoints: int = Field(2, ge=1)
    """Checkpoints kept (older ones are deleted once a newer one is complete)."""
    freeze_layers: int = Field(0, ge=0)
    """Leave the embeddings and the bottom N encoder layers untrained: the backward pass stops above them, so a step
    costs less (see bench/README.md, "Training"). 0 trains everything; it must leave at least one layer to train."""
    activation_checkpointing: bool = False
    """Recompute each layer's activations in the backward pass instead of keeping them: less memory, ~30% more time."""
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    """`bf16`: bfloat16 autocast. bench/bench_train.py (`--only precision`, one round of 12 MiniLM steps) measured it
    4.7x faster than fp32 on this AMD EPYC (AVX512-BF16), and CPUs without bf16 units run it many times slower;
    `auto` measures it on the machine that trains (`hf.precision.fast_dtype`) and the job's key, config and receipt
    hold what was chosen. fp32 stays the default until a bf16 run's accuracy is measured for the recipe."""


class TrainRecipe(_Strict):
    """What `loopwright train` makes a model from, and how."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    """The model artifact's name: `model/NAME`, a new version each time the output changes."""
    description: str = ""
    """What the model is for."""
    seed: int = 0
    """Seeds the weights of anything new, the data order, masking and dropout."""
    data: Data
    tokenizer: Tokenizer = Tokenizer()
    model: Model = Model()
    objective: Objective = Objective()
    optimizer: Optimizer = Optimizer()
    schedule: Schedule = Schedule()
    training: Training = Training()


def parse_train_recipe(text: str, source_name: str = "recipe.toml") -> TrainRecipe:
    """Parse and validate recipe text; `ConfigError` naming `source_name`, the line and the field."""
    return validate_toml(TrainRecipe, text, source_name, hint="README's 'Training a model' section lists every field")


def load_train_recipe(path: str | Path) -> tuple[TrainRecipe, str]:
    """The recipe at `path` and its text (stored with the model it makes)."""
    text = read_recipe(path, "train")
    return parse_train_recipe(text, str(path)), text
