"""The figures `loopwright eval` reports, computed from per-item outcomes, so a paired test can recompute them.

    Outcomes: one row per held-out item (correct, confidence, safe, and per perturbation changed/correct)
              and one per golden (passed, critical)
    metrics(rows, goldens) -> {"accuracy": .., "accuracy.vi": .., "accuracy.intent.card_lost": .., "calibration": ..,
                               "robustness.typos": .., "robustness": .., "safety": .., "goldens": .., ...}
    composite(metrics, weights) -> the weighted mean of the policy's components

Every metric is in [0, 1] and higher is better, so "a drop" means the same for each:
`calibration` is 1 - ECE, `robustness.KIND` is 1 - the accuracy lost on the items
the rewrite changed (a gain counts as no loss), `robustness` is their mean,
`safety` the share of adversarial items kept from any action but the safe ones,
`policy` the accuracy on items carrying personal data, which the model sees masked (`<CARD_1>`), as served.
Adversarial items count for safety only, never for accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int) -> list[dict[str, Any]]:
    """Equal-width confidence bins: each with its count, mean confidence and accuracy (the reliability diagram)."""
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # bin b holds (b/bins, (b+1)/bins]
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        out.append({"lo": b / bins, "hi": (b + 1) / bins, "n": n,
                    "confidence": float(confidence[mask].mean()) if n else None,
                    "accuracy": float(correct[mask].mean()) if n else None})
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int) -> float:
    """Expected calibration error: |accuracy - confidence| per bin, weighted by the bin's share of items."""
    if len(confidence) == 0:
        return 0.0
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, weights=correct.astype(float), minlength=bins)
                 - np.bincount(which, weights=confidence, minlength=bins))
    return float(gap.sum() / len(confidence)) if n.any() else 0.0


@dataclass(frozen=True)
class Outcomes:
    """Per-item outcomes of one model on the held-out items and the goldens (arrays aligned with `ids`)."""

    ids: np.ndarray  # (N,) item ids
    language: np.ndarray  # (N,)
    intent: np.ndarray  # (N,) the labelled intent
    adversarial: np.ndarray  # (N,) bool: counts for safety, not accuracy
    pii: np.ndarray  # (N,) bool: the text carries personal data, masked by the policy before the model saw it
    correct: np.ndarray  # (N,) bool
    confidence: np.ndarray  # (N,) float: the calibrated probability of the predicted intent
    safe: np.ndarray  # (N,) bool: the prediction reaches no action but the safe ones
    changed: dict[str, np.ndarray]  # kind -> (N,) bool: the rewrite changed the text
    perturbed: dict[str, np.ndarray]  # kind -> (N,) bool: correct on the rewritten text
    golden_ids: np.ndarray  # (G,)
    golden_passed: np.ndarray  # (G,) bool
    golden_critical: np.ndarray  # (G,) bool

    @classmethod
    def from_records(cls, items: Sequence[Mapping[str, Any]], goldens: Sequence[Mapping[str, Any]]) -> Outcomes:
        """From the records `loopwright eval` stores (items.jsonl, goldens.jsonl), scored items only."""
        items = [r for r in items if not r.get("contaminated")]
        kinds = sorted({k for r in items for k in r["perturbed"]})
        col = lambda key, dtype=object: np.array([r[key] for r in items], dtype=dtype)  # noqa: E731
        return cls(
            ids=col("id"), language=col("language"), intent=col("intent"), adversarial=col("kind") == "adversarial",
            pii=col("kind") == "pii",
            correct=col("correct", bool), confidence=col("confidence", float), safe=col("safe", bool),
            changed={k: np.array([r["perturbed"][k]["changed"] for r in items], dtype=bool) for k in kinds},
            perturbed={k: np.array([r["perturbed"][k]["correct"] for r in items], dtype=bool) for k in kinds},
            golden_ids=np.array([g["id"] for g in goldens], dtype=object),
            golden_passed=np.array([g["passed"] for g in goldens], dtype=bool),
            golden_critical=np.array([g["critical"] for g in goldens], dtype=bool),
        )

    def restricted(self, ids: set[str], golden_ids: set[str]) -> Outcomes:
        """Only the items (and goldens) in these sets, ordered by id, so two models' outcomes pair row by row."""
        rows = np.array(sorted((i for i, x in enumerate(self.ids) if x in ids), key=lambda i: self.ids[i]), dtype=int)
        grows = np.array(sorted((i for i, x in enumerate(self.golden_ids) if x in golden_ids), key=lambda i: self.golden_ids[i]), dtype=int)
        return Outcomes(
            self.ids[rows], self.language[rows], self.intent[rows], self.adversarial[rows], self.pii[rows], self.correct[rows],
            self.confidence[rows], self.safe[rows], {k: v[rows] for k, v in self.changed.items()},
            {k: v[rows] for k, v in self.perturbed.items()}, self.golden_ids[grows], self.golden_passed[grows],
            self.golden_critical[grows],
        )

    # ---- the figures ----------------------------------------------------------------------------------------

    def drops(self, rows: np.ndarray | None = None) -> dict[str, dict[str, float]]:
        """Per rewrite: items changed, accuracy on them before and after, and the drop (points lost)."""
        rows = np.arange(len(self.ids)) if rows is None else rows
        out = {}
        for kind, changed in self.changed.items():
            mask = changed[rows] & ~self.adversarial[rows]
            n = int(mask.sum())
            before = float(self.correct[rows][mask].mean()) if n else 0.0
            after = float(self.perturbed[kind][rows][mask].mean()) if n else 0.0
            out[kind] = {"n": n, "before": before, "after": after, "drop": before - after}
        return out

    def metrics(self, bins: int, rows: np.ndarray | None = None, grows: np.ndarray | None = None, *,
                detail: bool = True) -> dict[str, float]:
        """Every metric over `rows` of the items and `grows` of the goldens (all by default; a bootstrap passes
        resampled indices). `detail=False` computes only what the composite needs."""
        rows = np.arange(len(self.ids)) if rows is None else rows
        grows = np.arange(len(self.golden_ids)) if grows is None else grows
        task = rows[~self.adversarial[rows]]
        adv = rows[self.adversarial[rows]]
        correct = self.correct[task]
        m: dict[str, float] = {"accuracy": float(correct.mean()) if len(task) else 0.0}
        by_language = {lang: float(self.correct[task][self.language[task] == lang].mean())
                       for lang in np.unique(self.language[task])}
        if detail:
            m.update({f"accuracy.{lang}": v for lang, v in by_language.items()})
            m.update({f"accuracy.intent.{i}": float(self.correct[task][self.intent[task] == i].mean())
                      for i in np.unique(self.intent[task])})
        m["worst_language"] = min(by_language.values()) if by_language else 0.0
        m["calibration"] = 1.0 - ece(self.confidence[task], correct, bins)
        kept = {k: 1.0 - max(d["drop"], 0.0) for k, d in self.drops(rows).items() if d["n"]}
        if detail:
            m.update({f"robustness.{k}": v for k, v in kept.items()})
        m["robustness"] = float(np.mean(list(kept.values()))) if kept else 1.0
        m["safety"] = float(self.safe[adv].mean()) if len(adv) else 1.0
        masked = rows[self.pii[rows]]
        m["policy"] = float(self.correct[masked].mean()) if len(masked) else 1.0
        m["goldens"] = float(self.golden_passed[grows].mean()) if len(grows) else 1.0
        if detail:
            critical = grows[self.golden_critical[grows]]
            m["goldens.critical"] = float(self.golden_passed[critical].mean()) if len(critical) else 1.0
        return m

    def per_item(self, metric: str) -> tuple[np.ndarray, str] | None:
        """(which rows count, which outcome array) for a metric that is a share of items, else None.

        These are the metrics McNemar's test applies to; the others are bootstrapped.
        """
        task = ~self.adversarial
        if metric == "accuracy":
            return task, "correct"
        if metric.startswith("accuracy.intent."):
            return task & (self.intent == metric.removeprefix("accuracy.intent.")), "correct"
        if metric.startswith("accuracy."):
            return task & (self.language == metric.removeprefix("accuracy.")), "correct"
        if metric == "safety":
            return self.adversarial, "safe"
        if metric == "policy":
            return self.pii, "correct"
        if metric == "goldens":
            return np.ones(len(self.golden_ids), dtype=bool), "golden_passed"
        if metric == "goldens.critical":
            return self.golden_critical, "golden_passed"
        return None


def composite(metrics: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted mean of the composite's components (weights normalised to sum 1)."""
    total = sum(weights.values())
    return float(sum(w * metrics[name] for name, w in weights.items()) / total)
