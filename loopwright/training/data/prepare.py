"""`loopwright data prepare RECIPE`: a recipe's sources in, a `dataset` artifact out.

    sources (files, dataset artifacts)              # manifest.json: licence, provenance, consent, sensitivity
      -> PII masked or dropped                      # the policy's recognisers
      -> offensive text dropped                     # alt-profanity-check, plus the recipe's terms
      -> exact, then near duplicates dropped        # loopwright.dedup (MinHash LSH)
      -> train / val / test by normalised-text hash
      -> leakage check across splits                # a near-duplicate pair across splits fails the job
      -> rare strata oversampled in train
      -> masked-PII copies added to train           # triage reads masked messages (loopwright...data.augment)
      -> train ordered easy first                   # the incumbent triage model's loss on each label

The artifact holds `train.jsonl`, `val.jsonl`, `test.jsonl` (train in
curriculum order), `utterances.jsonl` (every labelled row, so `triage fit
--dataset` takes it and draws the same split), `manifest.json`, `card.json`,
`card.md` and the recipe's own bytes as `recipe.toml`. Prepared files are
cached under `data-prepare/<key>/` (loopwright.training.cache), keyed by the
recipe's bytes, every source's digest and the scoring model's digest. A job
that fails registers nothing and writes no blob.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.digests import digest_of, sha256_hex
from loopwright.registry.artifacts import Artifact, register
from loopwright.registry.payloads import DataPrepare
from loopwright.training.cache import cached_folder
from loopwright.training.data.augment import add_masked_pii
from loopwright.training.data.card import Card, render_markdown
from loopwright.training.data.filters import drop_exact, drop_near, filter_pii, filter_toxicity
from loopwright.training.data.order import balance, difficulty, order_rows, scoring_model, triage_losses
from loopwright.training.data.sources import Row, SourceData, dataset_provenance, read_sources
from loopwright.training.data.splits import SPLITS, check_leakage, split_rows
from loopwright.training.recipes import DataRecipe, load_recipe

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

FORMAT = "loopwright.dataset.prepared/1"  # part of the cache key: a change to what is written moves it
# (step, done, total): the CLI draws one progress bar per step
Progress = Callable[[str, int, int], None]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def _ticker(progress: Progress | None, step: str) -> Callable[[int, int], None] | None:
    return (lambda done, total: progress(step, done, total)) if progress else None


def _prepared_files(ws: Workspace, recipe: DataRecipe, sources: list[SourceData], model: Artifact | None,
                    recipe_digest: str, progress: Progress | None) -> dict[str, bytes]:
    """Run every step; the artifact's files (recipe.toml aside). Raises before returning anything on a failed check."""
    tick = progress or (lambda step, done, total: None)
    inputs = [row for s in sources for row in s.rows]
    card = Card()

    rows, why = filter_pii(inputs, recipe.pii, _ticker(progress, "pii"))
    card.step("pii", inputs, rows, why, action=recipe.pii.action)
    steps: list[tuple[str, Callable[[list[Row]], tuple[list[Row], Counter]], dict[str, Any]]] = [
        ("toxicity", lambda r: filter_toxicity(r, recipe.toxicity),
         {"classifier": f"alt-profanity-check {metadata.version('alt-profanity-check')}" if recipe.toxicity.enabled else None,
          "threshold": recipe.toxicity.threshold, "terms": len(recipe.toxicity.terms)}),
        ("exact_dedup", lambda r: drop_exact(r, recipe.dedup), {}),
        ("near_dedup", lambda r: drop_near(r, recipe.dedup),
         {"threshold": recipe.dedup.threshold, "num_perm": recipe.dedup.num_perm, "shingle": recipe.dedup.shingle}),
    ]
    for name, run, extra in steps:
        tick(name, 0, 1)
        before, (rows, why) = rows, run(rows)
        card.step(name, before, rows, why, **extra)
        tick(name, 1, 1)

    parts = split_rows(rows, recipe.splits)
    tick("leakage", 0, 1)
    check_leakage(parts, recipe.splits, recipe.dedup)
    tick("leakage", 1, 1)
    card.step("split", rows, rows, None, leakage_threshold=recipe.splits.leakage_threshold,
              sizes={k: len(v) for k, v in parts.items()})

    train = parts["train"]
    parts["train"], added = balance(train, recipe.balancing, recipe.seed)
    card.step("balance", train, parts["train"], added, method=recipe.balancing.method, by=list(recipe.balancing.by))
    if recipe.augment.masked_pii > 0:
        balanced = parts["train"]
        parts["train"], added = add_masked_pii(balanced, recipe.augment.masked_pii, recipe.seed)
        card.step("augment", balanced, parts["train"], added, masked_pii=recipe.augment.masked_pii)
    labelled = [r for r in train if r.intent is not None]
    losses = dict(zip((r.id for r in labelled), triage_losses(ws, model, labelled, _ticker(progress, "curriculum")),
                      strict=True)) if model else {}
    scores = difficulty(train, recipe.curriculum, losses)
    parts["train"] = order_rows(parts["train"], recipe.curriculum, scores, recipe.seed)
    card.step("curriculum", parts["train"], parts["train"], None, score=recipe.curriculum.score,
              order=recipe.curriculum.order, model=model.ref if model else None,
              model_digest=model.digest if model else None)

    kept = Counter(r.source for split in parts.values() for r in split if "#" not in r.id)
    manifest = [{**s.manifest(), "kept": kept[s.source.name]} for s in sources]
    doc = card.to_dict(name=recipe.name, description=recipe.description, inputs=inputs, splits=parts,
                       manifest=manifest, recipe_digest=recipe_digest)

    def out(row: Row) -> dict[str, Any]:
        base = row.id.split("#")[0]
        return {**row.to_dict(), **({"difficulty": round(scores[base], 6)} if base in scores else {})}

    files = {f"{split}.jsonl": _jsonl([out(r) for r in parts[split]]) for split in SPLITS}
    files["utterances.jsonl"] = _jsonl([{"id": r.id, "text": r.text, "intent": r.intent, "language": r.language}
                                        for split in SPLITS for r in parts[split] if r.intent is not None])
    files["manifest.json"] = _json({"dataset": recipe.name, "sources": manifest, **dataset_provenance(sources)})
    files["card.json"] = _json(doc)
    files["card.md"] = render_markdown(doc).encode()
    return files


@dataclass(frozen=True)
class PrepareResult:
    """What `prepare_dataset` did. `seconds`: the steps' time, or the cache lookup."""

    artifact: Artifact
    card: dict[str, Any]
    cache_hit: bool
    cache_key: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """What `data prepare --json` prints."""
        return {
            "artifact": self.artifact.ref,
            "digest": self.artifact.digest,
            "cache_hit": self.cache_hit,
            "cache_key": self.cache_key,
            "seconds": round(self.seconds, 3),
            "card": self.card,
        }


def prepare_dataset(ws: Workspace, recipe_path: str | Path, *, progress: Progress | None = None,
                    use_cache: bool = True) -> PrepareResult:
    """Prepare the dataset `recipe_path` describes and register it as `dataset/<recipe name>`, with a receipt.

    Errors (a recipe that does not validate, a missing source, a leakage check that
    fails) are one-line `LoopwrightError`s, raised before anything is stored.
    """
    recipe_path = Path(recipe_path)
    recipe, text = load_recipe(recipe_path)
    sources = read_sources(ws, recipe, recipe_path.parent)
    model = scoring_model(ws, recipe.curriculum)
    recipe_digest = sha256_hex(text.encode())
    key = digest_of({
        "format": FORMAT,
        "recipe_digest": recipe_digest,
        "sources": [s.digest for s in sources],
        "model": model.digest if model else None,
    })
    started = time.perf_counter()

    def build(folder: Path) -> None:
        for name, data in _prepared_files(ws, recipe, sources, model, recipe_digest, progress).items():
            (folder / name).write_bytes(data)

    if use_cache:
        folder, hit = cached_folder("data-prepare", key, build)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    else:
        files, hit = _prepared_files(ws, recipe, sources, model, recipe_digest, progress), False
    card = json.loads(files["card.json"])
    files["recipe.toml"] = text.encode()
    seconds = time.perf_counter() - started

    removed = Counter()
    for step in card["steps"]:
        removed.update({k: v for k, v in step["reasons"].items() if not k.startswith(("pii_masked", "oversampled", "pii_found", "masked_pii"))})
    parents = [s.digest for s in sources if s.source.dataset is not None] + ([model.digest] if model else [])
    artifact = register(
        ws,
        "dataset",
        recipe.name,
        files,
        parents=parents,
        provenance=dataset_provenance(sources),
        config={"recipe": recipe.model_dump(mode="json"), "format": FORMAT},
        receipt=DataPrepare,
        details={
            "recipe_digest": recipe_digest,
            "rows_in": card["input"]["rows"],
            "rows_out": sum(b["rows"] for b in card["splits"].values()),
            "removed": dict(sorted(removed.items())),
            "splits": {k: b["rows"] for k, b in card["splits"].items()},
            "cache_hit": hit,
            "cache_key": key,
            "seconds": round(seconds, 3),
            "compute_s": round(seconds, 3),
        },
    )
    logger.info("%s from %s in %.1f s", artifact.ref, "cache" if hit else "a fresh run", seconds)
    return PrepareResult(artifact, card, hit, key, seconds)
