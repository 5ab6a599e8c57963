"""Triage: the intent classifier on the request path, and how it is fitted.

    text -> all-MiniLM-L6-v2 vector (loopwright.embedding)   # (384,)
         -> logits = W x + b                                 # (K,) logistic-regression head
         -> softmax(logits / T)                              # T: temperature, fitted on validation NLL

`fit_triage` splits the labelled utterances of a dataset artifact by a hash of
their normalised text (so no text, nor a re-cased or re-punctuated copy of it,
crosses splits), fits the head on train, the temperature on validation, and
reports accuracy and expected calibration error per language on test. The
result is the `model/triage` artifact: `head.json` (weights, classes,
temperature), `metrics.json` and `config.json`, plain JSON, never a pickle.

Fitted files are cached outside the workspace, under
`$LOOPWRIGHT_CACHE_DIR/triage/<key>/` (default `~/.cache/loopwright`), keyed
by the digest of (dataset digest, embedder id, config). A second workspace
with the same inputs registers the cached files, so its artifact has the same
digest as the first, without embedding the dataset again.

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
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.digests import canonical_json, digest_of
from loopwright.embedding import DIM, MODEL_NAME, Embedder, get_embedder
from loopwright.errors import ConfigError, IntegrityError, InvalidInput, NotFound, UnknownRef
from loopwright.registry.artifacts import Artifact, read_file, register, resolve
from loopwright.release.deployment import get_deployment, set_stable
from loopwright.text import strip_accents

if TYPE_CHECKING:
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

SLOT = "model:triage"
NAME = "triage"
DEFAULT_DATASET = "dataset/bank-intents"
HEAD_FORMAT = "loopwright.triage.head/1"
SPLIT_RULE = (
    "sha256(f'{seed}:{normalize_text(text)}') as a fraction in [0, 1): "
    "train below train_share, then val, then test"
)
# The model reads at most 256 tokens; 4,096 characters hold those for any ordinary
# text and keep tokenizing a 10 MB message from costing seconds.
MAX_CHARS = 4096


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


# --- splits and calibration ------------------------------------------------------------


def clean_text(text: Any) -> str:
    """The text the embedder sees: whitespace runs collapsed (the tokenizer ignores them), capped at MAX_CHARS."""
    if not isinstance(text, str):
        raise InvalidInput(f"triage takes text, got {type(text).__name__}")
    # Collapse a bounded prefix only, so a 10 MB message costs no more than a short one.
    cleaned = " ".join(text[: 4 * MAX_CHARS].split()) or " ".join(text.split())
    if not cleaned:
        raise InvalidInput("triage text is empty or only whitespace", hint="send the customer's message text")
    return cleaned[:MAX_CHARS]


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


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of integer `labels` under softmax(`logits`)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence|, weighted by the bin's share."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    # Bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 cannot occur.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in np.unique(which):
        mask = which == b
        ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising NLL of softmax(logits / T), searched on log T in [1/20, 20]."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: nll(logits / np.exp(log_t), labels), bounds=(np.log(0.05), np.log(20.0)), method="bounded"
    )
    return float(np.exp(result.x))


def _scores(logits: np.ndarray, labels: np.ndarray, temperature: float, bins: int) -> dict[str, Any]:
    raw, calibrated = softmax(logits), softmax(logits / temperature)
    return {
        "n": int(len(labels)),
        "accuracy": float((raw.argmax(axis=1) == labels).mean()) if len(labels) else 0.0,
        "ece_uncalibrated": expected_calibration_error(raw, labels, bins),
        "ece": expected_calibration_error(calibrated, labels, bins),
        "nll_uncalibrated": nll(logits, labels) if len(labels) else 0.0,
        "nll": nll(logits / temperature, labels) if len(labels) else 0.0,
        "mean_confidence": float(calibrated.max(axis=1).mean()) if len(labels) else 0.0,
    }


# --- the dataset -------------------------------------------------------------------------


def read_utterances(ws: Workspace, dataset: Artifact) -> list[dict[str, str]]:
    """The labelled rows of a dataset artifact's `utterances.jsonl` (verified), checked for shape."""
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


# --- fitting -----------------------------------------------------------------------------


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
        "overall": _scores(logits[test], labels[test], temperature, config.bins),
        "by_language": {
            lang: _scores(logits[mask], labels[mask], temperature, config.bins)
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


def cache_root() -> Path:
    """Where loopwright keeps caches that outlive a workspace: $LOOPWRIGHT_CACHE_DIR, else ~/.cache/loopwright."""
    named = os.environ.get("LOOPWRIGHT_CACHE_DIR")
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "loopwright"


def _read_cache(key: str) -> dict[str, bytes] | None:
    """The cached files under `key`, or None when absent or not matching their recorded digests."""
    folder = cache_root() / "triage" / key
    try:
        entry = json.loads((folder / "entry.json").read_text("utf-8"))
        files = {name: (folder / name).read_bytes() for name in entry["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.get("key") != key or any(hashlib.sha256(files[n]).hexdigest() != d for n, d in entry["files"].items()):
        logger.warning("triage cache entry %s is corrupt; fitting again", folder)
        return None
    return files


def _write_cache(key: str, files: Mapping[str, bytes]) -> None:
    """Write the entry to a temporary folder and rename it in place, so readers never see half of one."""
    parent = cache_root() / "triage"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
        for name, data in files.items():
            (staging / name).write_bytes(data)
        entry = {"key": key, "files": {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}}
        (staging / "entry.json").write_text(json.dumps(entry, indent=2), "utf-8")
        target = parent / key
        shutil.rmtree(target, ignore_errors=True)  # a corrupt entry we decided to replace
        try:
            staging.rename(target)
        except OSError:  # another process wrote the same entry first
            shutil.rmtree(staging, ignore_errors=True)
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
    files = _read_cache(key) if use_cache else None
    cache_hit = files is not None
    if files is None:
        files = _fit_files(read_utterances(ws, source), config, embedder, about)
        _write_cache(key, files)
    metrics = json.loads(files["metrics.json"])
    seconds = time.perf_counter() - started
    provenance = {
        **{k: source.provenance[k] for k in ("licence", "consent", "sensitivity") if k in source.provenance},
        "source": f"fitted by `loopwright triage fit` on {source.ref} (sha256:{source.digest[:12]})",
        "dataset": source.ref,
        "creator": "loopwright.serving.triage",
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
            action="triage.fit",
            session=s,
            details={"cache_hit": cache_hit, "cache_key": key, "seconds": round(seconds, 3), **_headline(metrics)},
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


# --- serving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageResult:
    """One text's triage: the intent, its calibrated probability, the top three and the top-two gap."""

    intent: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    margin: float

    @property
    def runner_up(self) -> str | None:
        return self.top[1][0] if len(self.top) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "margin": self.margin,
            "top": [{"intent": i, "probability": p} for i, p in self.top],
        }


@dataclass
class TriageModel:
    """A loaded triage head; `predict` embeds with the process-wide embedder. Thread-safe."""

    artifact: Artifact
    classes: list[str]
    coef: np.ndarray  # (K, 384)
    intercept: np.ndarray  # (K,)
    temperature: float
    embedder_id: str
    _embedder: Embedder | None = field(default=None, repr=False)

    @classmethod
    def load(cls, ws: Workspace, artifact: Artifact | str) -> TriageModel:
        """Load `artifact` (or a ref to one); its head.json is verified against its digest."""
        if isinstance(artifact, str):
            artifact = resolve(ws, artifact, kind="model")
        raw = read_file(ws, artifact, "head.json")
        try:
            doc = json.loads(raw)
            if doc["format"] != HEAD_FORMAT:
                raise ValueError(f"format {doc['format']!r}")
            classes = [str(c) for c in doc["classes"]]
            coef = np.asarray(doc["coef"], dtype=np.float32)
            intercept = np.asarray(doc["intercept"], dtype=np.float32)
            temperature = float(doc["temperature"])
            embedder_id = str(doc["embedder"])
            k = len(classes)
            if coef.ndim != 2 or coef.shape[0] != k or intercept.shape != (k,) or not temperature > 0:
                raise ValueError(f"shapes {coef.shape} and {intercept.shape} for {len(classes)} classes")
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{artifact.ref} head.json is not a triage head ({exc})") from None
        # bf16 and float32 vectors agree to a cosine of 0.99996, so only the model must match, not the dtype.
        if not embedder_id.startswith(MODEL_NAME) or coef.shape[1] != DIM:
            raise ConfigError(
                f"{artifact.ref} was fitted on {embedder_id} vectors of {coef.shape[1]} dimensions; "
                f"this process embeds with {MODEL_NAME} ({DIM})",
                hint="fit it again with `loopwright triage fit`",
            )
        return cls(artifact, classes, coef, intercept, temperature, embedder_id)

    @classmethod
    def deployed(cls, ws: Workspace, channel: str = "stable") -> TriageModel:
        """The model live on slot `model:triage` (stable, or its canary)."""
        state = get_deployment(ws).slots.get(SLOT)
        artifact = (state.canary if channel == "canary" else state.stable) if state else None
        if artifact is None:
            raise NotFound(f"no model on slot {SLOT} ({channel})", hint="run `loopwright triage fit`")
        return cls.load(ws, artifact)

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def predict(self, texts: Sequence[str]) -> list[TriageResult]:
        """Triage each text. One text takes the embedder's single-query path (and its cache)."""
        if isinstance(texts, str):
            raise InvalidInput("predict takes a list of texts, not one string", hint="wrap it: predict([text])")
        cleaned = [clean_text(t) for t in texts]
        if not cleaned:
            return []
        embedder = self._embed()
        vectors = embedder.encode_query(cleaned[0])[None, :] if len(cleaned) == 1 else embedder.encode(cleaned)
        return self.predict_vectors(vectors)

    def predict_vectors(self, vectors: np.ndarray) -> list[TriageResult]:
        """Triage (N, 384) query vectors already made by the embedder (retrieval embeds the same query)."""
        probs = softmax((vectors @ self.coef.T + self.intercept) / self.temperature)  # (N, K)
        k = min(3, len(self.classes))
        order = np.argsort(-probs, axis=1)[:, :k]
        out = []
        for row, idx in zip(probs, order, strict=True):
            top = tuple((self.classes[i], float(row[i])) for i in idx)
            margin = top[0][1] - (top[1][1] if k > 1 else 0.0)
            out.append(TriageResult(top[0][0], top[0][1], top, margin))
        return out


_warm: dict[str, TriageModel] = {}
_warm_lock = threading.Lock()


def warm_model(ws: Workspace, artifact: Artifact) -> TriageModel:
    """`TriageModel.load`, kept by digest so switching back to a loaded model is a dict lookup."""
    with _warm_lock:
        model = _warm.get(artifact.digest)
    if model is None:
        model = TriageModel.load(ws, artifact)
        with _warm_lock:
            if len(_warm) >= 8:  # heads are ~200 KB; a few releases' worth stay warm
                _warm.pop(next(iter(_warm)))
            model = _warm.setdefault(artifact.digest, model)
    return model
