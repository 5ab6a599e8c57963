"""Near-duplicate detection (loopwright.dedup, as `data prepare` runs it): precision and recall on planted copies.

    python bench/bench_dedup.py [--plant 400] [--seed 0] [--quick]

Three settings side by side at each threshold: the raw text with 5-character
shingles (dedup's own normalisation only), the text `data prepare` compares
(`filters.comparable`: accents, case and punctuation folded) with 5-character
shingles, and the same with 3-character shingles.

The base set is the sample's labelled utterances in three languages (the base
`utterances.jsonl` and the multilingual phrasebook), first reduced to one row
per near-duplicate group at each threshold, so what remains has no near
duplicates of its own. Then `--plant` rows get a copy each, changed the way
copies differ in practice: a typo, casing, punctuation dropped, accents
dropped, a word of politeness added, or two of these. Every pair the detector
puts in one group is a predicted pair; the planted (original, copy) pairs are
the truth. Precision = true predicted pairs / predicted pairs; recall = planted
pairs found / planted. Per edit kind, the recall. Writes bench/results/dedup.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, print_table, write_result  # noqa: E402

from loopwright import dedup  # noqa: E402
from loopwright.samples.bank.noise import recase, strip_punctuation, typo  # noqa: E402
from loopwright.text import strip_accents  # noqa: E402
from loopwright.training.data.filters import comparable  # noqa: E402

DATA = ROOT / "loopwright" / "samples" / "bank" / "data"
POLITE = {"en": ["please", "thanks"], "es": ["por favor", "gracias"], "vi": ["ạ", "giúp em"]}


def _texts() -> list[tuple[str, str]]:
    files = [DATA / "utterances.jsonl", *sorted((DATA / "multilingual").glob("utterances-*.jsonl"))]
    return [(row["text"], row["language"]) for f in files for row in map(json.loads, f.read_text("utf-8").splitlines())]


def _edit(text: str, language: str, kind: str, rng: random.Random) -> str:
    if kind == "typo":
        return typo(text, rng)
    if kind == "case":
        return recase(text, rng) if text.lower() != text else text.upper()
    if kind == "punct":
        return strip_punctuation(text) + rng.choice(["", "?", "!!"])
    if kind == "accents":
        return strip_accents(text) if strip_accents(text) != text else typo(text, rng)
    if kind == "polite":
        return f"{text} {rng.choice(POLITE[language])}"
    first, second = rng.sample(["typo", "case", "punct", "polite"], 2)
    return _edit(_edit(text, language, first, rng), language, second, rng)


KINDS = ("typo", "case", "punct", "accents", "polite", "two edits")


SETTINGS = {"raw, 5-shingles": (False, 5), "folded, 5-shingles": (True, 5), "folded, 3-shingles": (True, 3)}


def measure(base: list[tuple[str, str]], threshold: float, plant: int, seed: int, setting: str) -> dict:
    fold, shingle = SETTINGS[setting]

    def groups_of(texts: list[str]) -> list[list[int]]:
        return dedup.duplicate_groups([comparable(t) if fold else t for t in texts], threshold=threshold, shingle=shingle)

    groups = groups_of([t for t, _ in base])
    dropped = {i for g in groups for i in g[1:]}
    clean = [row for i, row in enumerate(base) if i not in dropped]
    rng = random.Random(f"{seed}:{threshold}")
    chosen = rng.sample(range(len(clean)), plant)
    texts = [t for t, _ in clean]
    truth: dict[tuple[int, int], str] = {}
    for n, i in enumerate(chosen):
        kind = KINDS[n % len(KINDS)]
        copy = _edit(clean[i][0], clean[i][1], kind, rng)
        truth[(i, len(texts))] = kind
        texts.append(copy)
    started = time.perf_counter()
    found = groups_of(texts)
    seconds = time.perf_counter() - started
    predicted = {pair for g in found for pair in itertools.combinations(g, 2)}
    hit = predicted & set(truth)
    per_kind = {k: sum(1 for p, kind in truth.items() if kind == k and p in hit) / sum(1 for kind in truth.values() if kind == k)
                for k in KINDS}
    return {
        "setting": setting,
        "threshold": threshold,
        "base_rows": len(base),
        "base_after_dedup": len(clean),
        "planted": plant,
        "predicted_pairs": len(predicted),
        "true_pairs_found": len(hit),
        "precision": round(len(hit) / len(predicted), 4) if predicted else 1.0,
        "recall": round(len(hit) / len(truth), 4),
        "recall_by_edit": {k: round(v, 4) for k, v in per_kind.items()},
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", type=int, default=400, help="rows that get a planted near copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one threshold (0.8) and 100 planted copies")
    args = parser.parse_args()
    started = time.perf_counter()
    base = _texts()
    thresholds = (0.8,) if args.quick else (0.6, 0.7, 0.8, 0.9)
    plant = 100 if args.quick else args.plant
    runs = [measure(base, t, plant, args.seed, setting) for setting in SETTINGS for t in thresholds]
    print_table("near-duplicate detection on planted copies (num_perm 128)",
                ["setting", "threshold", "rows", "planted", "predicted pairs", "precision", "recall", *KINDS, "s"],
                [[r["setting"], r["threshold"], r["base_after_dedup"] + r["planted"], r["planted"], r["predicted_pairs"], r["precision"],
                  r["recall"], *r["recall_by_edit"].values(), r["seconds"]] for r in runs])
    path = write_result("dedup" + ("-quick" if args.quick else ""), {"runs": runs, "seed": args.seed}, started=started)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
