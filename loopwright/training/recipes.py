"""Data recipes: the typed TOML file `loopwright data prepare RECIPE` reads.

    name = "bank-multilingual"              # the dataset artifact it makes: dataset/bank-multilingual
    [[sources]]                             # one per input, each with its licence and provenance
    name = "intents"; dataset = "dataset/intents"; licence = "CC0-1.0"; ...
    [dedup]  [toxicity]  [pii]  [balancing]  [curriculum]  [splits]

Every field is documented below (`loopwright data prepare --help` points here
and README's "Training data" lists them). Unknown keys are errors, and every
error names the file, the line and the field. The recipe's bytes are stored in
the artifact it makes (`recipe.toml`) and its parsed form in the artifact's config.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loopwright.errors import ConfigError, InvalidInput
from loopwright.policy.entities import ENTITIES
from loopwright.policy.toml_lines import locate

Sensitivity = Literal["public", "internal", "confidential", "restricted"]
SENSITIVITY_ORDER: tuple[str, ...] = ("public", "internal", "confidential", "restricted")


M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Source(_Strict):
    """One input: a JSON-lines file or a registered `dataset` artifact, with where it comes from and on what terms."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    """Short name the manifest and the data card use for this source."""
    path: str | None = None
    """A JSON-lines file (relative paths are read from the recipe's folder). Each line: `text`, optional `intent`
    (a labelled utterance; without it the row is an unlabelled passage), optional `language` and `id`."""
    dataset: str | None = None
    """A registered dataset artifact (`dataset/NAME[@N]`) instead of `path`; its `file` is read, verified."""
    file: str = "utterances.jsonl"
    """The file read from `dataset`."""
    language: Literal["en", "es", "vi"] | None = None
    """The language of rows that do not name one."""
    licence: str = Field(min_length=1)
    """SPDX identifier or licence terms the rows are used under (e.g. `CC0-1.0`, `CC-BY-4.0`)."""
    provenance: str = Field(min_length=1)
    """Where the rows come from and how they were made (who wrote or generated them, from what)."""
    consent: str = Field(min_length=1)
    """The basis for using the rows for training (`synthetic: no real persons`, `customer opt-in 2026-03`...)."""
    sensitivity: Sensitivity
    """The most sensitive data the source may hold; the dataset takes the highest of its sources."""

    @model_validator(mode="after")
    def _one_origin(self) -> Source:
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of `path` or `dataset`")
        return self


class Dedup(_Strict):
    """Exact and near-duplicate removal (loopwright.dedup: normalised-text hashes, then MinHash LSH)."""

    exact: bool = True
    """Drop rows whose normalised text (accents, case, punctuation and spacing folded) was seen before."""
    near: bool = True
    """Drop rows whose character-shingle Jaccard similarity (on the normalised text) to a kept row reaches `threshold`."""
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Estimated Jaccard similarity at which two texts count as near-duplicates."""
    num_perm: int = Field(128, ge=16, le=1024)
    """MinHash permutations: more is a closer estimate and slower."""
    shingle: int = Field(3, ge=1, le=16)
    """Characters per shingle. On planted copies of the sample's utterances (bench/bench_dedup.py, threshold 0.8),
    3-character shingles of the normalised text find 0.81 of them at precision 1.00; 5-character ones 0.67."""


class Toxicity(_Strict):
    """Offensive-text filter: alt-profanity-check's packaged linear classifier (English), plus `terms` for others."""

    enabled: bool = True
    """Run the filter."""
    threshold: float = Field(0.8, gt=0.0, lt=1.0)
    """Drop a row whose profanity probability reaches this."""
    terms: tuple[str, ...] = ()
    """Extra words that drop a row wherever they occur as whole words (case folded, accents kept: list an unaccented
    spelling too if it is meant); the classifier is trained on English, so Spanish and Vietnamese insults belong here."""


class Pii(_Strict):
    """Personal data, found by the policy's recognisers (loopwright.policy.pii)."""

    action: Literal["mask", "drop", "keep"] = "mask"
    """`mask`: replace each finding by a typed placeholder (`<CARD_1>`); `drop`: drop the row; `keep`: count only."""
    entities: tuple[str, ...] | None = None
    """Entity types to look for (`CREDIT_CARD`, `US_SSN`, `EMAIL_ADDRESS`...); default: the policy's defaults."""

    @field_validator("entities")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = sorted(set(value or ()) - set(ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity type(s) {', '.join(unknown)} (known: {', '.join(ENTITIES)})")
        return value


class Balancing(_Strict):
    """Rare-class balancing of the training split only (validation and test keep the natural distribution)."""

    method: Literal["oversample", "none"] = "oversample"
    """`oversample`: repeat rows of each rare stratum, cycling through them in a seeded order, until the stratum
    has `target` times the rows of the largest (at most `max_factor` times its own count)."""
    by: tuple[Literal["intent", "language"], ...] = ("intent", "language")
    """The fields that make a stratum. Unlabelled rows are never repeated."""
    target: float = Field(0.5, gt=0.0, le=1.0)
    """Each stratum is raised to at least this share of the largest stratum's count."""
    max_factor: float = Field(4.0, ge=1.0)
    """No stratum grows beyond this many times its own count (a handful of rows repeated 50 times teaches little)."""


class Augment(_Strict):
    """Copies added to the training split only (loopwright.training.data.augment)."""

    masked_pii: float = Field(0.0, ge=0.0, le=1.0)
    """Share of the labelled training rows that gain a copy with a masked-PII clause (`my email is <EMAIL_1>.`)
    before or after the text, intent unchanged: triage reads messages after the gateway masked them."""


class Curriculum(_Strict):
    """The order of the training split, easy first, by a difficulty score."""

    score: Literal["triage_loss", "length", "none"] = "triage_loss"
    """`triage_loss`: the incumbent triage model's cross-entropy on the row's label, -log p(label), with its
    calibrated probabilities (a row the live model already gets right with confidence is easy); `length`:
    characters; `none`: keep the seeded shuffle. Unlabelled rows are ranked by length and interleaved by percentile."""
    model: str | None = None
    """The triage model scored with (`model/triage@N`); default: the one live on slot model:triage."""
    order: Literal["easy_first", "hard_first"] = "easy_first"
    """Ascending or descending difficulty."""


class Splits(_Strict):
    """Train, validation and test by a hash of the normalised text, so no text (nor a re-cased copy) crosses splits."""

    train: float = Field(0.70, gt=0.0, lt=1.0)
    """Share of texts in train. With the defaults the split is the one `loopwright triage fit` uses."""
    val: float = Field(0.15, gt=0.0, lt=1.0)
    """Share in validation; the rest is test."""
    seed: int = 0
    """Salts the split hash."""
    leakage_threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Near-duplicate similarity across splits that fails the job (nothing is stored). At `dedup.threshold`, what
    the dedup step keeps always passes (the same LSH); below it, the check is stricter than the dedup."""

    @model_validator(mode="after")
    def _leaves_test(self) -> Splits:
        if self.train + self.val >= 1:
            raise ValueError(f"train {self.train} + val {self.val} leave no test split")
        return self


class DataRecipe(_Strict):
    """What `loopwright data prepare` makes a dataset from, and how."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    """The dataset artifact's name: `dataset/NAME`, a new version each time the output changes."""
    description: str = ""
    """What the dataset is for, shown on its data card."""
    seed: int = 0
    """Seeds the shuffle and the oversampling order."""
    sources: tuple[Source, ...] = Field(min_length=1)
    """The inputs, in priority order: when two rows duplicate each other, the earlier source's row is kept."""
    dedup: Dedup = Dedup()
    toxicity: Toxicity = Toxicity()
    pii: Pii = Pii()
    balancing: Balancing = Balancing()
    augment: Augment = Augment()
    curriculum: Curriculum = Curriculum()
    splits: Splits = Splits()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: tuple[Source, ...]) -> tuple[Source, ...]:
        names = [s.name for s in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names repeat: {', '.join(repeated)}")
        return value


def validate_toml(model: type[M], text: str, source_name: str, *, hint: str) -> M:
    """`text` parsed as TOML and validated as `model`; a `ConfigError` naming `source_name`, the line and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source_name}: invalid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = locate(text, loc, err.get("input") if err["type"] != "extra_forbidden" else None)
        where = ".".join(str(p) for p in loc) or "recipe"
        reason = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(
            err["type"], err["msg"].removeprefix("Value error, "))
        raise ConfigError(f"{source_name}:{line or '?'}: {where}: {reason}", hint=hint) from None


def parse_recipe(text: str, source_name: str = "recipe.toml") -> DataRecipe:
    """Parse and validate recipe text; `ConfigError` naming `source_name`, the line and the field."""
    return validate_toml(DataRecipe, text, source_name, hint="README's 'Training data' section lists every field")


def read_recipe(path: str | Path, kind: str) -> str:
    """The text of the `kind` ("data", "train") recipe at `path`; a one-line `InvalidInput` when it cannot be read."""
    path = Path(path)
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no recipe file {path}", hint=f"pass the path of a .toml {kind} recipe") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read recipe {path}: {exc}") from None


def load_recipe(path: str | Path) -> tuple[DataRecipe, str]:
    """The recipe at `path` and its text (stored with the dataset it makes)."""
    text = read_recipe(path, "data")
    return parse_recipe(text, str(path)), text
