"""Rare-class balancing and curriculum order, both on the training split only.

Balancing oversamples: a stratum (intent and language by default) with fewer
than `target` x the largest stratum's rows gets copies of its own rows, taken
in a seeded order that cycles through all of them before repeating any, up to
`max_factor` x its size. Copies are ids `ID#2`, `ID#3`... Validation and test
keep their natural distribution, so what they measure is what traffic looks like.

The curriculum sorts by difficulty, easy first by default. `triage_loss` is
the incumbent triage model's cross-entropy on the row's own label,
-log p(label | text) with its temperature-calibrated probabilities: rows the
live model already classifies confidently come first, the ones it gets wrong
(a Vietnamese phrasing it has not seen, say) last. A label the model does not
know is the hardest. Unlabelled passages are ranked by length; both kinds are
placed by their percentile within their kind, so passages interleave evenly.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from loopwright.embedding import get_embedder
from loopwright.errors import NotFound
from loopwright.registry.artifacts import resolve
from loopwright.registry.deployment import deployed_artifact
from loopwright.serving.triage import SLOT, TriageModel, clean_text, softmax
from loopwright.training.data.filters import Tick
from loopwright.training.data.sources import Row
from loopwright.training.recipes import Balancing, Curriculum

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

BATCH = 64


def balance(rows: list[Row], config: Balancing, seed: int) -> tuple[list[Row], Counter]:
    """`rows` plus oversampled copies of rare strata (labelled rows only); the count added per stratum."""
    if config.method == "none":
        return rows, Counter()
    strata: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        if row.intent is not None:
            strata.setdefault(tuple(getattr(row, f) for f in config.by), []).append(row)
    if not strata:
        return rows, Counter()
    goal = math.ceil(config.target * max(len(members) for members in strata.values()))
    out, added = list(rows), Counter()
    for key, members in sorted(strata.items()):
        want = min(goal, math.floor(len(members) * config.max_factor))
        if want <= len(members):
            continue
        rng = random.Random(f"{seed}:balance:{'/'.join(key)}")
        order = sorted(members, key=lambda r: r.id)
        extra: list[Row] = []
        while len(extra) < want - len(members):
            rng.shuffle(order)
            extra += order[: want - len(members) - len(extra)]
        copies = Counter()
        for row in extra:
            copies[row.id] += 1
            out.append(replace(row, id=f"{row.id}#{copies[row.id] + 1}"))
        added[f"oversampled:{'/'.join(key)}"] = len(extra)
    return out, added


def scoring_model(ws: Workspace, config: Curriculum) -> Artifact | None:
    """The triage model `triage_loss` scores with: the recipe's, else the one live on model:triage."""
    if config.score != "triage_loss":
        return None
    if config.model:
        return resolve(ws, config.model, kind="model")
    artifact = deployed_artifact(ws, SLOT)
    if artifact is None:
        raise NotFound(
            f"curriculum.score = 'triage_loss' needs a triage model, and none is live on {SLOT}",
            hint="run `loopwright triage fit`, set curriculum.model, or use curriculum.score = 'length'",
        )
    return artifact


def triage_losses(ws: Workspace, artifact: Artifact, rows: list[Row], tick: Tick | None = None) -> list[float]:
    """-log p(label) under `artifact` for each labelled row (inf for a label it does not know)."""
    model = TriageModel.load(ws, artifact)
    embedder = get_embedder()
    index = {name: k for k, name in enumerate(model.classes)}
    texts = [clean_text(r.text) for r in rows]
    losses: list[float] = []
    for start in range(0, len(texts), BATCH):
        vectors = embedder.encode(texts[start : start + BATCH])  # (B, 384)
        probs = softmax((vectors @ model.coef.T + model.intercept) / model.temperature)  # (B, K)
        for row, p in zip(rows[start : start + BATCH], probs, strict=True):
            k = index.get(row.intent or "")
            losses.append(float(-np.log(max(float(p[k]), 1e-12))) if k is not None else math.inf)
        if tick:
            tick(min(start + BATCH, len(texts)), len(texts))
    return losses


def _percentiles(values: list[float]) -> list[float]:
    """Each value's rank within `values`, in [0, 1] (ties share the lower rank)."""
    ranked = sorted(values)
    n = max(len(values) - 1, 1)
    first = {}
    for i, v in enumerate(ranked):
        first.setdefault(v, i)
    return [first[v] / n for v in values]


def difficulty(rows: list[Row], config: Curriculum, losses: dict[str, float]) -> dict[str, float]:
    """Row id -> difficulty percentile in [0, 1]; `losses` maps labelled row ids to their triage loss."""
    if config.score == "none":
        return {}
    labelled = [r for r in rows if r.intent is not None]
    passages = [r for r in rows if r.intent is None]
    out: dict[str, float] = {}
    if config.score == "triage_loss":
        out.update(zip((r.id for r in labelled), _percentiles([losses[r.id] for r in labelled]), strict=True))
    else:
        out.update(zip((r.id for r in labelled), _percentiles([float(len(r.text)) for r in labelled]), strict=True))
    out.update(zip((r.id for r in passages), _percentiles([float(len(r.text)) for r in passages]), strict=True))
    return out


def order_rows(rows: list[Row], config: Curriculum, scores: dict[str, float], seed: int) -> list[Row]:
    """A seeded shuffle, then (unless the score is `none`) a stable sort by difficulty; copies take their original's score."""
    rng = random.Random(f"{seed}:order")
    shuffled = sorted(rows, key=lambda r: r.id)
    rng.shuffle(shuffled)
    if config.score == "none":
        return shuffled
    sign = 1.0 if config.order == "easy_first" else -1.0
    return sorted(shuffled, key=lambda r: sign * scores[r.id.split("#")[0]])
