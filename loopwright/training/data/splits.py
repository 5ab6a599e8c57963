"""Splits by a hash of the normalised text, and the near-duplicate leakage check across them.

The split of a text depends on nothing but the text and the seed, so it is the
same on every run, in every order, and a re-cased or re-accented copy lands
beside its original. With the recipe's default shares and seed it is exactly
the split `loopwright triage fit` draws, so a head fitted on the prepared
dataset is tested on its test split.
"""

from __future__ import annotations

import hashlib

from loopwright import dedup
from loopwright.errors import InvalidInput
from loopwright.training.data.filters import comparable
from loopwright.training.data.sources import Row
from loopwright.training.recipes import Dedup, Splits

SPLITS = ("train", "val", "test")


def split_of(text: str, splits: Splits) -> str:
    """`train`, `val` or `test`: sha256 of `seed:comparable(text)` read as a fraction in [0, 1)."""
    digest = hashlib.sha256(f"{splits.seed}:{comparable(text)}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    if fraction < splits.train:
        return "train"
    return "val" if fraction < splits.train + splits.val else "test"


def split_rows(rows: list[Row], splits: Splits) -> dict[str, list[Row]]:
    """The rows of each split, in their input order."""
    out: dict[str, list[Row]] = {name: [] for name in SPLITS}
    for row in rows:
        out[split_of(row.text, splits)].append(row)
    return out


class LeakageError(InvalidInput):
    """Near-duplicate texts sit in different splits: evaluation on them would measure memory, not skill."""


def check_leakage(parts: dict[str, list[Row]], splits: Splits, shape: Dedup) -> None:
    """`LeakageError` naming the first near-duplicate pair across two splits, if any.

    Every pair of splits is compared by MinHash LSH at `splits.leakage_threshold`, with the
    dedup step's permutations and shingle size.
    """
    found: list[tuple[str, str, Row, Row]] = []
    for i, left in enumerate(SPLITS):
        for right in SPLITS[i + 1 :]:
            a, b = parts[left], parts[right]
            if not a or not b:
                continue
            pairs = dedup.near_pairs([comparable(r.text) for r in a], [comparable(r.text) for r in b], threshold=splits.leakage_threshold,
                                     num_perm=shape.num_perm, shingle=shape.shingle)
            found += [(left, right, a[x], b[y]) for x, y, *_ in pairs]
    if found:
        left, right, a, b = found[0]
        raise LeakageError(
            f"leakage check failed: {len(found)} near-duplicate pair(s) cross splits at similarity >= "
            f"{splits.leakage_threshold}, e.g. {left} {a.id} {a.text[:60]!r} ~ {right} {b.id} {b.text[:60]!r}; nothing was stored",
            hint="enable [dedup] near, or lower dedup.threshold to at most splits.leakage_threshold",
        )
