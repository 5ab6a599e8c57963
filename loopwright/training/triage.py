"""Fitting the triage head: the intent classifier that `loopwright.serving.triage` serves.

    labelled utterances (a dataset artifact's utterances.jsonl)
      -> split by a hash of the normalised text          # no text, nor a re-cased copy, crosses splits
      -> all-MiniLM-L6-v2 vectors                         # (N, 384)
      -> logistic-regression head on train                # W (K, 384), b (K,)
      -> temperature T on validation NLL                  # softmax(logits / T) is calibrated
      -> accuracy and expected calibration error per language on test

The result is the `model/triage` artifact: `head.json` (weights, classes,
temperature), `metrics.json` and `config.json`, plain JSON, never a pickle.
Fitted files are cached (loopwright.training.cache) under `triage/<key>/`,
keyed by the digest of (dataset digest, embedder id, config), so a second
workspace with the same inputs registers the same artifact without embedding
the dataset again.

Choices, measured on the sample's validation split (seed 0): C = 100 gave the
best accuracy of C in {1, 10, 30, 100, 300, 1000} (0.966, tied with 300; 0.904
at C = 1), so the head is barely regularised and temperature scaling does the
calibrating. Weighting Spanish and Vietnamese rows up did not raise their
accuracy; MiniLM is an English model, and Vietnamese stays the weakest language.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.digests import canonical_json, digest_of
from loopwright.embedding import Embedder, get_embedder
from loopwright.errors import InvalidInput, UnknownRef
from loopwright.files import atomic_folder
from loopwright.registry.artifacts import Artifact, read_file, register, resolve
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.payloads import TriageFit
from loopwright.serving.triage import HEAD_FORMAT, NAME, SLOT, clean_text
from loopwright.text import strip_accents
from loopwright.training.cache import cache_root
from loopwright.training.calibration import calibration_scores, fit_temperature
from loopwright.training.heldout import refuse_training_on

if TYPE_CHECKING:
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

# The labelled utterances `triage fit` takes unless told otherwise: a sample or a team registers its own
# under this name (the bank sample does), or passes --dataset.
DEFAULT_DATASET = "dataset/intents"


SPLIT_RULE = (
    "sha256(f'{seed}:{normalize_text(text)}') as a fraction in [0, 1): "
    "train below train_share, then val, then test"
)


@dataclass(frozen=True)
class TriageConfig:
    """How a triage head is fitted. Stored in the artifact's config.json."""

    seed: int = 0
    """Salts the split hash: the only random choice in the fit (lbfgs is deterministic)."""
    c: float = 100.0
    """Inverse L2 strength of the logistic regression (`--c`); see the module notes on how 100 was chosen."""
    max_iter: int = 2000
    """lbfgs iteration limit."""
    train_share: float = 0.70
    """Share of texts in the training split."""
    val_share: float = 0.15
    """Share in the validation split (fits the temperature); the rest is the test split."""
    bins: int = 15
    """Equal-width confidence bins for expected calibration error."""

    def __post_init__(self) -> None:
        if not self.c > 0:
            raise InvalidInput(f"--c must be positive, got {self.c}")
        if self.max_iter < 1:
            raise InvalidInput(f"--max-iter must be at least 1, got {self.max_iter}")
        if not (0 < self.train_share < 1 and 0 < self.val_share < 1 and self.train_share + self.val_share < 1):
            raise InvalidInput(
                f"split shares train={self.train_share} val={self.val_share} leave no test split",
                hint="both in (0, 1) with train + val < 1",
            )
        if self.bins < 1:
            raise InvalidInput(f"--bins must be at least 1, got {self.bins}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_text(text: str) -> str:
    """The identity used for splits: compatibility forms, accents and case folded, punctuation dropped, spaces collapsed."""
    text = strip_accents(text)
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def split_of(text: str, config: TriageConfig) -> str:
    """`train`, `val` or `test` for a text, from a hash of its normalised form."""
    digest = hashlib.sha256(f"{config.seed}:{normalize_text(text)}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    if fraction < config.train_share:
        return "train"
    return "val" if fraction < config.train_share + config.val_share else "test"


def read_utterances(ws: Workspace, dataset: Artifact) -> list[dict[str, str]]:
    """The labelled rows of a dataset artifact's `utterances.jsonl` (verified), checked for shape."""
    refuse_training_on(dataset)
    raw = read_file(ws, dataset, "utterances.jsonl").decode("utf-8")
    rows = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{dataset.ref} utterances.jsonl line {number} is not JSON: {exc.msg}") from None
        if not all(isinstance(row.get(k), str) and row[k].strip() for k in ("text", "intent", "language")):
            raise InvalidInput(
                f"{dataset.ref} utterances.jsonl line {number} lacks text, intent or language",
                hint='each line: {"id", "text", "intent", "language"}',
            )
        rows.append(row)
    return rows


def _fit_files(
    rows: list[dict[str, str]], config: TriageConfig, embedder: Embedder, about: dict[str, Any]
) -> dict[str, bytes]:
    """Embed, fit head and temperature, score the test split: the artifact's three files."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    texts = [clean_text(r["text"]) for r in rows]
    split = np.array([split_of(t, config) for t in texts])
    classes = sorted({r["intent"] for r in rows})
    labels = np.array([classes.index(r["intent"]) for r in rows])
    languages = np.array([r["language"] for r in rows])
    train, val, test = (split == "train"), (split == "val"), (split == "test")
    missing = sorted(set(classes) - {classes[i] for i in labels[train]})
    if missing or not val.any() or not test.any():
        raise InvalidInput(
            f"the dataset is too small to split: {len(rows)} rows"
            + (f", no training example of {', '.join(missing)}" if missing else ""),
            hint="each intent needs several utterances",
        )

    vectors = embedder.encode(texts).astype(np.float64)  # (N, 384)
    head = LogisticRegression(C=config.c, max_iter=config.max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        head.fit(vectors[train], labels[train])
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        logger.warning("triage head did not converge in %d iterations; raise --max-iter", config.max_iter)
    coef, intercept = head.coef_, head.intercept_  # (K, 384), (K,)
    logits = vectors @ coef.T + intercept  # (N, K)
    temperature = fit_temperature(logits[val], labels[val])

    metrics = {
        "split": "test",
        "temperature": temperature,
        "sizes": {name: int(mask.sum()) for name, mask in (("train", train), ("val", val), ("test", test))},
        "overall": calibration_scores(logits[test], labels[test], temperature, config.bins),
        "by_language": {
            lang: calibration_scores(logits[mask], labels[mask], temperature, config.bins)
            for lang in sorted(set(languages))
            for mask in [test & (languages == lang)]
        },
        "by_intent": {
            name: {
                "n": int((test & (labels == k)).sum()),
                "accuracy": float((logits[test & (labels == k)].argmax(axis=1) == k).mean()),
            }
            for k, name in enumerate(classes)
            if (test & (labels == k)).any()
        },
    }
    head_doc = {
        "format": HEAD_FORMAT,
        "embedder": about["embedder"],
        "classes": classes,
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
        "temperature": temperature,
    }
    return {
        "head.json": canonical_json(head_doc).encode(),
        "metrics.json": json.dumps(metrics, indent=2, sort_keys=True).encode(),
        "config.json": json.dumps(about, indent=2, sort_keys=True).encode(),
    }


def _read_cache(key: str) -> tuple[dict[str, bytes], float | None] | None:
    """The cached files under `key` and the seconds the fit that wrote them took (None if it did not record
    them), or None when absent or not matching their recorded digests."""
    folder = cache_root() / "triage" / key
    try:
        entry = json.loads((folder / "entry.json").read_text("utf-8"))
        files = {name: (folder / name).read_bytes() for name in entry["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.get("key") != key or any(hashlib.sha256(files[n]).hexdigest() != d for n, d in entry["files"].items()):
        logger.warning("triage cache entry %s is corrupt; fitting again", folder)
        return None
    seconds = entry.get("fit_seconds")
    return files, float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None


def _write_cache(key: str, files: Mapping[str, bytes], seconds: float) -> None:
    """Write the entry to a temporary folder and rename it in place, so readers never see half of one."""
    parent = cache_root() / "triage"
    try:
        with atomic_folder(parent / key) as staging:
            for name, data in files.items():
                (staging / name).write_bytes(data)
            entry = {"key": key, "files": {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}, "fit_seconds": round(seconds, 3)}
            (staging / "entry.json").write_text(json.dumps(entry, indent=2), "utf-8")
            shutil.rmtree(parent / key, ignore_errors=True)  # a corrupt entry we decided to replace
    except OSError as exc:  # a read-only home must not fail the fit
        logger.warning("could not write the triage cache under %s: %s", parent, exc)


def _headline(metrics: dict[str, Any]) -> dict[str, float]:
    overall = metrics["overall"]
    return {"accuracy": overall["accuracy"], "ece": overall["ece"], "temperature": metrics["temperature"]}


@dataclass(frozen=True)
class FitResult:
    """What `fit_triage` did. `seconds`: time to fit the head, or to read it from the cache."""

    artifact: Artifact
    metrics: dict[str, Any]
    cache_hit: bool
    cache_key: str
    seconds: float
    deploy_receipt: Receipt | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact.ref,
            "digest": self.artifact.digest,
            "cache_hit": self.cache_hit,
            "cache_key": self.cache_key,
            "seconds": round(self.seconds, 3),
            "deployed": self.deploy_receipt is not None,
            "deploy_receipt": self.deploy_receipt.seq if self.deploy_receipt else None,
            "metrics": self.metrics,
        }


def fit_triage(
    ws: Workspace,
    dataset: str = DEFAULT_DATASET,
    config: TriageConfig | None = None,
    *,
    deploy: bool = False,
    use_cache: bool = True,
) -> FitResult:
    """Fit (or take from the cache) the triage head on `dataset`, register it as `model/triage`.

    With `deploy`, it also goes live on slot `model:triage`, in the same
    transaction as its registration, by a direct set that its receipt marks
    ungated (for fixtures and the demo's set-up); `loopwright triage fit`
    releases it through the golden gate instead.
    """
    config = config or TriageConfig()
    try:
        source = resolve(ws, dataset, kind="dataset")
    except UnknownRef as exc:
        hint = f"`loopwright init DIR --sample bank` registers {DEFAULT_DATASET}; or pass --dataset REF"
        raise UnknownRef(exc.message, hint=hint) from None
    embedder = get_embedder()  # loaded once per process, and needed to serve anyway: not counted in `seconds`
    started = time.perf_counter()
    about = {
        "format": HEAD_FORMAT,
        "embedder": embedder.key,
        "dataset_digest": source.digest,
        "split_rule": SPLIT_RULE,
        **config.to_dict(),
    }
    key = digest_of(about)
    cached = _read_cache(key) if use_cache else None
    cache_hit = cached is not None
    if cached is None:
        files = _fit_files(read_utterances(ws, source), config, embedder, about)
        _write_cache(key, files, time.perf_counter() - started)
        fit_seconds = None
    else:
        files, fit_seconds = cached
    metrics = json.loads(files["metrics.json"])
    seconds = time.perf_counter() - started
    compute_s = seconds if fit_seconds is None else fit_seconds  # a cache hit is priced as the fit that filled it
    provenance = {
        **{k: source.provenance[k] for k in ("licence", "consent", "sensitivity") if k in source.provenance},
        "source": f"fitted by `loopwright triage fit` on {source.ref} (sha256:{source.digest[:12]})",
        "dataset": source.ref,
        "creator": "loopwright.training.triage",
    }
    with ws.write() as s:
        artifact = register(
            ws,
            "model",
            NAME,
            files,
            parents=[source.digest],
            provenance=provenance,
            config=about,
            receipt=TriageFit,
            session=s,
            details={"cache_hit": cache_hit, "cache_key": key, "seconds": round(seconds, 3), "compute_s": round(compute_s, 3),
                     **_headline(metrics)},
        )
        receipt = None
        if deploy:
            live = get_deployment(ws, session=s).stable(SLOT)
            if live is None or live.digest != artifact.digest:
                overall = metrics["overall"]
                reason = f"triage fit: test accuracy {overall['accuracy']:.3f}, ECE {overall['ece']:.3f}"
                receipt = set_stable(ws, SLOT, artifact.ref, reason=reason, session=s)
    logger.info("%s from %s in %.1f s", artifact.ref, "cache" if cache_hit else "a fresh fit", seconds)
    return FitResult(artifact, metrics, cache_hit, key, seconds, receipt)
