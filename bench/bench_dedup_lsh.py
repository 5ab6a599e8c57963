"""Near-duplicate detection: `loopwright.dedup` (MinHash LSH) against exact Jaccard over every pair.

Texts: the sample bank's labelled utterances and adapter examples (2,686 texts, with the typos,
re-casings and paraphrases the generator plants). Both methods use the same 5-character shingles
of the same normalised text and the same threshold; the exact method compares every pair and
closes the relation with union-find, as `duplicate_groups` does. Reported: texts each marks as a
duplicate (all but the first of its group), their agreement (recall and precision of the LSH
against exact), and the time of each, side by side in one run.

    python bench/bench_dedup_lsh.py            # ~1-2 min (the exact all-pairs pass dominates)
    python bench/bench_dedup_lsh.py --quick    # the first 800 texts
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import print_table, write_result  # noqa: E402

from loopwright.dedup import _shingles, duplicate_groups  # noqa: E402
from loopwright.samples.bank import DATA_DIR  # noqa: E402

THRESHOLD, SHINGLE = 0.8, 5


def exact_groups(texts: list[str]) -> list[list[int]]:
    """Groups by exact Jaccard of shingle sets over every pair, closed transitively."""
    sets = [_shingles(t, SHINGLE) for t in texts]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sets)):
        a = sets[i]
        for j in range(i + 1, len(sets)):
            b = sets[j]
            if len(a & b) >= THRESHOLD * len(a | b):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


def dropped(groups: list[list[int]]) -> set[int]:
    return {i for g in groups for i in g[1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Only the first 800 texts.")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = [*(DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines(), *(DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines()]
    texts = [json.loads(line)["text"] for line in lines if line]
    if args.quick:
        texts = texts[:800]

    t0 = time.perf_counter()
    lsh = dropped(duplicate_groups(texts, threshold=THRESHOLD, shingle=SHINGLE))
    lsh_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = dropped(exact_groups(texts))
    exact_s = time.perf_counter() - t0

    both = lsh & exact
    figures = {
        "texts": len(texts),
        "threshold": THRESHOLD,
        "shingle": SHINGLE,
        "num_perm": 128,
        "dropped_exact": len(exact),
        "dropped_lsh": len(lsh),
        "recall": round(len(both) / len(exact), 4) if exact else None,
        "precision": round(len(both) / len(lsh), 4) if lsh else None,
        "lsh_s": round(lsh_s, 3),
        "exact_s": round(exact_s, 3),
        "speedup": round(exact_s / lsh_s, 1),
    }
    print_table(
        "near duplicates: MinHash LSH vs exact Jaccard over every pair",
        ["method", "texts dropped", "seconds"],
        [["exact (all pairs)", len(exact), exact_s], ["MinHash LSH", len(lsh), lsh_s]],
    )
    print(f"\n  recall {figures['recall']}, precision {figures['precision']}, LSH {figures['speedup']}x faster")
    path = write_result("dedup_lsh" + ("_quick" if args.quick else ""), {"figures": figures}, started=started)
    print(f"  wrote {path}")


if __name__ == "__main__":
    main()
