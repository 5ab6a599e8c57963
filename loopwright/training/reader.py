"""Training the reader: the small tier's extractive question-answering model (`loopwright.serving.backends.reader`).

    examples (question, passage, answer character span or none, document group, language)
      -> split by a hash of the document group           # no test passage, nor its translation, seen in training
      -> [CLS] question [SEP] passage [SEP] through the frozen encoder, once   # (B, T, 384) token states
      -> span head on [state, state * mean question state]: start/end logits   # (B, T, 2)
      -> loss: cross-entropy on start and end; an unanswerable pair points both at [CLS] (SQuAD 2.0)
      -> answerability score: best span (start + end logit) minus the [CLS] null score
      -> selector: logistic regression of "this passage answers" on (score, question terms the passage
         holds, embedding cosine), fitted on out-of-fold scores (two heads, each trained on half the
         training documents, score the other half) and the validation split: calibrated, and it ranks
      -> exact match, token F1, answerability AUC and ECE, and how often the right passage of a question's
         candidates ranks first (head score alone, and the selector), per language, on the held-out documents

Why a frozen encoder: on this project's 2 shared cores, fine-tuning even one
MiniLM layer took ~5 s a step (forward and backward of 32 pairs, measured at
load 12; 2-3 s at load 5), and all six frozen layers read no better than two
(F1 0.60 against 0.61, AUC 0.86 against 0.87, encoding 3.5x longer); encoding
every pair once and training only the head makes the encoder's cost one
forward pass over the examples, and the head trains in seconds. The head alone
ranks passages poorly (the answering passage first for 0.67 of held-out
questions); the selector's lexical, embedding and asked-kind features lift
that to 0.92.

The result is `head.safetensors`, `reader.json` (the card) and `metrics.json`,
written into the training cache (`loopwright.training.cache`) under
`reader/<key>/`, keyed by the digest of (examples, base encoder, config), so a
second workspace and the demo take it from there. The examples are generic;
the sample bank builds its own (`loopwright.samples.bank.reading`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.serving.backends.reader import (
    CARD, FORMAT, HEAD, SELECTOR_FEATURES, SLOT, TASK, Encoder, answerability_scores, base_digest, build_head,
    pair_features, select, token_features,
)
from loopwright.training.cache import TrainedFolder, cache_root, cached_folder

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.registry.receipts import Receipt
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, float], None]
"""Called after each training step with (step, total steps, loss)."""


@dataclass(frozen=True)
class ReadingExample:
    """One question read against one passage. `answer`: character offsets of the answer in `passage`, or None."""

    question: str
    passage: str
    answer: tuple[int, int] | None
    group: str
    """The document (family) the passage comes from: the split key, so no passage crosses splits."""
    language: str

    def __post_init__(self) -> None:
        if self.answer is not None:
            a, b = self.answer
            if not 0 <= a < b <= len(self.passage):
                raise InvalidInput(f"answer span {self.answer} is outside its passage ({len(self.passage)} characters)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReaderConfig:
    """How the reader is trained. Stored in its reader.json and part of its cache key."""

    layers: int = 1
    """Encoder layers used from the frozen base (MiniLM has 6). Encoding is the cost, in training and on every
    request: reading five spans took ~35-60 ms at one layer against ~115-180 ms at two (load ~18), and the
    demo's canary rolled the two-layer reader's router back on median latency (74 -> 125 ms). One layer ranks
    the answering passage first for 0.91 of held-out questions (two: 0.97; six read no better than two)."""
    hidden: int = 64
    """Width of the span head's hidden layer."""
    epochs: float = 20.0
    """Passes of the head over the training split's cached features."""
    batch_size: int = 32
    """Examples per batch."""
    lr: float = 2e-3
    """Peak AdamW learning rate of the head (cosine decay)."""
    max_length: int = 160
    """Most tokens of question plus passage; longer passages are cut."""
    max_answer_tokens: int = 48
    """Longest answer span considered."""
    train_share: float = 0.70
    """Share of document groups in the training split."""
    val_share: float = 0.15
    """Share of groups in the validation split (fits the calibration); the rest is the test split."""
    seed: int = 0
    """Salts the split hash; seeds the head's initial weights and the batch order."""
    bins: int = 10
    """Equal-width probability bins for expected calibration error."""
    threads: int = 1
    """torch intra-op threads while training: on 2 shared cores one thread encoded ~2x faster than two."""

    def __post_init__(self) -> None:
        if not 1 <= self.layers <= 24:
            raise InvalidInput(f"layers must be in 1..24, got {self.layers}")
        if self.hidden < 1:
            raise InvalidInput(f"hidden must be positive, got {self.hidden}")
        if not (self.epochs > 0 and self.batch_size >= 1 and self.lr > 0):
            raise InvalidInput("epochs, batch_size and lr must be positive")
        if not 32 <= self.max_length <= 512 or not 1 <= self.max_answer_tokens < self.max_length:
            raise InvalidInput(f"max_length must be in 32..512 and max_answer_tokens below it, got {self.max_length}, "
                               f"{self.max_answer_tokens}")
        if not (0 < self.train_share < 1 and 0 < self.val_share < 1 and self.train_share + self.val_share < 1):
            raise InvalidInput(f"split shares train={self.train_share} val={self.val_share} leave no test split",
                               hint="both in (0, 1) with train + val < 1")

    @classmethod
    def tiny(cls) -> ReaderConfig:
        """Two encoder layers, a narrow head, short sequences: trains in seconds, for tests."""
        return cls(layers=2, hidden=32, epochs=20.0, max_length=96)


SPLIT_RULE = "sha256(f'{seed}:{group}') as a fraction in [0, 1): train below train_share, then val, then test"


def split_of(group: str, config: ReaderConfig) -> str:
    """`train`, `val` or `test` for a document group."""
    fraction = int.from_bytes(hashlib.sha256(f"{config.seed}:{group}".encode()).digest()[:8], "big") / 2**64
    if fraction < config.train_share:
        return "train"
    return "val" if fraction < config.train_share + config.val_share else "test"


def base_encoder() -> tuple[str, Path]:
    """(id, folder) of the encoder the reader starts from: the embedder's all-MiniLM-L6-v2, offline."""
    from loopwright.embedding import MODEL_NAME, model_path

    return f"sentence-transformers/{MODEL_NAME}", model_path()


# -- features -------------------------------------------------------------------------------------


def _targets(batch, examples: Sequence[ReadingExample]) -> tuple[list[int], list[int]]:
    """Start and end token of each answer; [CLS] (0) for an unanswerable pair or an answer cut off."""
    starts, ends = [], []
    for i, example in enumerate(examples):
        start = end = 0
        if example.answer is not None:
            a, b = example.answer
            offsets = batch["offset_mapping"][i].tolist()
            inside = [t for t, s in enumerate(batch.sequence_ids(i)) if s == 1 and offsets[t][0] < b and offsets[t][1] > a]
            if inside:
                start, end = inside[0], inside[-1]
        starts.append(start)
        ends.append(end)
    return starts, ends


@dataclass
class Features:
    """The frozen encoder's output for a set of examples, batched: what the head trains on."""

    batches: list[dict[str, Any]]  # each: features (B, T, 2W) float16, passage (B, T), start (B,), end (B,), offsets


def featurise(encoder: Encoder, examples: Sequence[ReadingExample], config: ReaderConfig,
              progress: Callable[[int, int], None] | None = None) -> Features:
    """Run the frozen encoder once over `examples` (sorted by length in batches, so padding stays small)."""
    import torch

    order = sorted(range(len(examples)), key=lambda i: len(examples[i].question) + len(examples[i].passage))
    batches = []
    for k in range(0, len(order), config.batch_size):
        idx = order[k : k + config.batch_size]
        chunk = [examples[i] for i in idx]
        batch, hidden, question, passage = encoder.encode([e.question for e in chunk], [e.passage for e in chunk],
                                                          config.max_length)
        start, end = _targets(batch, chunk)
        batches.append({"index": idx, "features": token_features(hidden, question).to(torch.float16),
                        "passage": passage, "start": torch.tensor(start), "end": torch.tensor(end),
                        "offsets": batch["offset_mapping"]})
        if progress:
            progress(min(k + config.batch_size, len(order)), len(order))
    return Features(batches)


def predict(head, features: Features, config: ReaderConfig, n: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(raw answerability scores (N,), predicted character spans) in the examples' order."""
    import torch

    scores, spans = np.zeros(n), [(0, 0)] * n
    with torch.inference_mode():
        for b in features.batches:
            logits = head(b["features"].float())  # (B, T, 2)
            score, best = answerability_scores(logits[..., 0], logits[..., 1], b["passage"], config.max_answer_tokens)
            for j, i in enumerate(b["index"]):
                s, e = best[j].tolist()
                scores[i] = float(score[j])
                spans[i] = (int(b["offsets"][j, s, 0]), int(b["offsets"][j, e, 1]))
    return scores, spans


# -- scores ----------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+(?:[.,]\w+)*%?|\$", text.casefold())


def token_f1(predicted: str, gold: str) -> float:
    """SQuAD token F1 (casefolded words, numbers kept whole)."""
    p, g = _tokens(predicted), _tokens(gold)
    common = sum(min(p.count(t), g.count(t)) for t in set(p))
    if not p or not g or common == 0:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def fit_selector(features: np.ndarray, labels: np.ndarray, l2: float = 1e-3) -> tuple[list[float], float]:
    """(weights, bias) minimising the log loss of sigmoid(features @ w + b) against 0/1 `labels`, with a
    small L2 penalty on `w` so separable data keeps finite weights."""
    from scipy.optimize import minimize

    y = labels.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        p = np.clip(sigmoid(features @ w + b), 1e-9, 1 - 1e-9)
        grad = features.T @ (p - y) / len(y) + 2 * l2 * w
        value = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean() + l2 * float(w @ w)
        return float(value), np.append(grad, (p - y).mean())

    result = minimize(loss, np.zeros(features.shape[1] + 1), jac=True, method="L-BFGS-B")
    return [float(x) for x in result.x[:-1]], float(result.x[-1])


def binary_ece(probs: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """Expected calibration error of P(answerable): |positive rate - mean probability| over equal-width bins."""
    if len(labels) == 0:
        return 0.0
    which = np.clip((probs * bins).astype(int), 0, bins - 1)
    return float(sum((which == b).mean() * abs(labels[which == b].mean() - probs[which == b].mean())
                     for b in np.unique(which)))


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (the chance a random answerable pair outscores an unanswerable one)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    if not len(positive) or not len(negative):
        return None
    ranks = np.argsort(np.argsort(np.concatenate([positive, negative]))) + 1
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def ranked_first(examples: Sequence[ReadingExample], scores: np.ndarray) -> float | None:
    """Share of questions, among those read against an answering passage and others, whose best-scored passage
    answers: how well `scores` pick the passage (the reader's job among the retrieved evidence)."""
    by_question: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_question.setdefault(e.question, []).append(i)
    hits = [examples[max(idx, key=lambda i: scores[i])].answer is not None for idx in by_question.values()
            if len({examples[i].answer is None for i in idx}) == 2]
    return float(np.mean(hits)) if hits else None


def scores_of(examples: Sequence[ReadingExample], raw: np.ndarray, spans: list[tuple[int, int]],
              probs: np.ndarray, bins: int) -> dict[str, Any]:
    """Exact match and F1 on answerable pairs; AUC, ECE of the head's score and of the selector's probability
    `probs`, and how often each ranks an answering passage first, on all of them."""
    labels = np.array([e.answer is not None for e in examples], dtype=int)
    ems, f1s = [], []
    for example, (a, b) in zip(examples, spans):
        if example.answer is not None:
            gold, got = example.passage[slice(*example.answer)], example.passage[a:b]
            ems.append(float(_tokens(got) == _tokens(gold)))
            f1s.append(token_f1(got, gold))
    return {
        "n": len(examples),
        "answerable": int(labels.sum()),
        "exact_match": float(np.mean(ems)) if ems else None,
        "f1": float(np.mean(f1s)) if f1s else None,
        "answerability_auc": auc(probs, labels),
        "head_auc": auc(raw, labels),
        "ece_uncalibrated": binary_ece(sigmoid(raw), labels, bins),
        "ece": binary_ece(probs, labels, bins),
        "decision_accuracy": float(((probs >= 0.5) == labels).mean()) if len(labels) else None,
        "ranked_first": ranked_first(examples, probs),
        "head_ranked_first": ranked_first(examples, raw),
    }


# -- training --------------------------------------------------------------------------------------


def _train(head, features: Features, config: ReaderConfig, progress: Progress | None) -> list[float]:
    """AdamW on the head over the cached features: cross-entropy on start and end over [CLS] and the passage."""
    import torch

    steps = max(1, math.ceil(len(features.batches) * config.epochs))
    optimiser = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    order = np.random.default_rng(config.seed)
    losses: list[float] = []
    head.train()
    for step in range(steps):
        b = features.batches[int(order.integers(len(features.batches)))]
        logits = head(b["features"].float())  # (B, T, 2)
        allowed = b["passage"].clone()
        allowed[:, 0] = True  # [CLS]: the null answer
        logits = logits.masked_fill(~allowed.unsqueeze(-1), -1e4)
        loss = (torch.nn.functional.cross_entropy(logits[..., 0], b["start"])
                + torch.nn.functional.cross_entropy(logits[..., 1], b["end"])) / 2
        loss.backward()
        optimiser.step()
        schedule.step()
        optimiser.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        if progress:
            progress(step + 1, steps, losses[-1])
    head.eval()
    return losses


def _by_language(examples, raw, spans, probs, bins) -> dict[str, Any]:
    out = {}
    for language in sorted({e.language for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.language == language]
        out[language] = scores_of([examples[i] for i in idx], raw[idx], [spans[i] for i in idx], probs[idx], bins)
    return out


def _halves(train: Sequence[ReadingExample]) -> list[list[ReadingExample]]:
    """The training split in two halves by document group (alternate groups in sorted order, so even two
    groups make two halves), for the out-of-fold scores."""
    groups = sorted({e.group for e in train})
    half = {g: k % 2 for k, g in enumerate(groups)}
    return [[e for e in train if half[e.group] == k] for k in (0, 1)]


def _trained_head(width: int, features: Features, config: ReaderConfig, progress: Progress | None = None):
    import torch

    torch.manual_seed(config.seed)
    head = build_head(width, config.hidden)
    return head, _train(head, features, config, progress)


def _pair_features(examples: Sequence[ReadingExample], raw: np.ndarray) -> np.ndarray:
    from loopwright.embedding import get_embedder

    return pair_features([e.question for e in examples], [e.passage for e in examples], raw.tolist(), get_embedder().encode)


def _train_into(folder: Path, examples: list[ReadingExample], config: ReaderConfig, about: dict[str, Any],
                progress: Progress | None) -> None:
    import torch
    from safetensors.torch import save_file

    split = {name: [e for e in examples if split_of(e.group, config) == name] for name in ("train", "val", "test")}
    folds = _halves(split["train"])
    if not all(any(e.answer for e in part) and any(e.answer is None for e in part) for part in [*split.values(), *folds]):
        raise InvalidInput(
            f"the examples are too few to split by document: {', '.join(f'{k} {len(v)}' for k, v in split.items())}",
            hint="each split (and each half of train) needs answerable and unanswerable pairs: give examples from more documents")
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    started = time.perf_counter()
    try:
        encoder = Encoder(config.layers)
        halves = [featurise(encoder, part, config) for part in folds]
        features = {"train": Features(halves[0].batches + halves[1].batches),
                    **{name: featurise(encoder, split[name], config) for name in ("val", "test")}}
        encoded = time.perf_counter() - started
        # Out-of-fold scores: each half scored by a head that never saw it, so the selector learns how far
        # the head's score can be trusted on documents it was not trained on.
        oof = []
        for k in (0, 1):
            half_head, _ = _trained_head(encoder.width, halves[1 - k], config)
            oof.append(predict(half_head, halves[k], config, len(folds[k]))[0])
        head, losses = _trained_head(encoder.width, features["train"], config, progress)
        val_raw, _ = predict(head, features["val"], config, len(split["val"]))
        test_raw, test_spans = predict(head, features["test"], config, len(split["test"]))
    finally:
        torch.set_num_threads(threads)
    fitted = [*folds[0], *folds[1], *split["val"]]
    weights, bias = fit_selector(_pair_features(fitted, np.concatenate([*oof, val_raw])),
                                 np.array([e.answer is not None for e in fitted], dtype=int))
    selector = {"features": list(SELECTOR_FEATURES), "weights": weights, "bias": bias}
    test_probs = select(_pair_features(split["test"], test_raw), selector)
    metrics = {
        "split": "test (documents held out)",
        "sizes": {k: len(v) for k, v in split.items()},
        "groups": {k: sorted({e.group for e in v}) for k, v in split.items()},
        "overall": scores_of(split["test"], test_raw, test_spans, test_probs, config.bins),
        "by_language": _by_language(split["test"], test_raw, test_spans, test_probs, config.bins),
        "selector": selector,
        "seconds": {"encode": round(encoded, 1), "total": round(time.perf_counter() - started, 1)},
        "loss": {"first": losses[0], "last": losses[-1], "steps": len(losses)},
    }
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(folder / HEAD))
    card = {"format": FORMAT, "selector": selector, "layers": config.layers, "hidden": config.hidden,
            "width": encoder.width, "max_length": config.max_length, "max_answer_tokens": config.max_answer_tokens,
            "base_digest": base_digest(), **about}
    (folder / CARD).write_text(json.dumps(card, indent=2, sort_keys=True), "utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), "utf-8")


def examples_digest(examples: Sequence[ReadingExample]) -> str:
    """The digest of the examples, in order: part of the cache key."""
    return digest_of([e.to_dict() for e in examples])


def train_reader(examples: Sequence[ReadingExample], config: ReaderConfig | None = None, *,
                 progress: Progress | None = None, use_cache: bool = True) -> TrainedFolder:
    """Train the reader on `examples` (or take it from the cache): a checkpoint folder with reader.json and
    metrics.json. Keyed by the examples' digest, the base encoder and the config."""
    config = config or ReaderConfig()
    examples = list(examples)
    if not examples:
        raise InvalidInput("no reading examples to train on")
    base_id, _ = base_encoder()
    about = {"base": base_id, "examples_digest": examples_digest(examples), "split_rule": SPLIT_RULE,
             "config": asdict(config)}
    key = digest_of({"format": FORMAT, **about})
    started = time.perf_counter()
    if not use_cache:
        shutil.rmtree(cache_root() / "reader" / key, ignore_errors=True)
    folder, hit = cached_folder("reader", key, lambda staging: _train_into(staging, examples, config, about, progress))
    seconds = time.perf_counter() - started
    logger.info("reader %s in %.1f s", "from the cache" if hit else "trained", seconds)
    return TrainedFolder(folder, key, hit, seconds)


def register_reader(ws: Workspace, trained: TrainedFolder, name: str, *, provenance: dict[str, Any],
                    parents: Sequence[str] = (), deploy: bool = False, reason: str = "") -> tuple[Artifact, Receipt | None]:
    """Register a trained reader folder as `model/<name>` (its card and headline metrics in the config); with
    `deploy`, put it live on `model:reader` in the same transaction, by a direct set its receipt marks
    ungated (a sample's initial deployment), unless it already is. Releases go through `release start`."""
    from loopwright.registry.artifacts import files_from_dir, register
    from loopwright.registry.deployment import get_deployment, set_stable
    from loopwright.registry.payloads import ModelRegister

    files = files_from_dir(trained.folder)
    card = json.loads(files[CARD])
    overall = json.loads(files["metrics.json"])["overall"]
    headline = {k: overall[k] for k in ("exact_match", "f1", "answerability_auc", "ece", "ranked_first")}
    config = {"task": TASK, **{k: v for k, v in card.items() if k != "selector"}, "metrics": headline}
    with ws.write() as s:
        artifact = register(ws, "model", name, files, parents=parents, provenance=provenance, config=config,
                            receipt=ModelRegister, session=s, details={"compute_s": round(trained.compute_s, 3)})
        receipt = None
        live = get_deployment(ws, session=s).stable(SLOT)
        if deploy and (live is None or live.digest != artifact.digest):
            summary = ", ".join(f"{k} {v:.3f}" for k, v in headline.items() if v is not None)
            receipt = set_stable(ws, SLOT, artifact.ref, reason=reason or f"reader: held-out {summary}", session=s)
    return artifact, receipt
