"""Exact and near-duplicate text detection, shared by curation and the training plane's data prepare.

Exact duplicates compare by the sha256 of the normalised text. Near duplicates are found with
MinHash LSH (datasketch) over character shingles of the normalised text: the LSH is built for a
threshold `CANDIDATE_SLACK` below the one asked, so pairs just above it are not lost to banding,
and each candidate pair is then confirmed on the exact Jaccard of its shingle sets, so none below
it is kept. Measured against exact Jaccard over every pair of the sample's 2,686 texts
(`bench/bench_dedup.py`). Every hash is seeded (datasketch's fixed seed and sha1-based shingle
hash), so the same texts always give the same groups.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

from datasketch import MinHash, MinHashLSH

_SEED = 1  # datasketch's default, pinned here so a library default change cannot move results
CANDIDATE_SLACK = 0.15
"""How far below the threshold the LSH looks for candidates (each then checked exactly)."""
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """`text` as compared for duplicates: NFKC (compatibility forms folded), casefolded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    """The sha256 hex digest of `normalise(text)`: equal for texts that differ only in case, width or spacing."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def _shingles(text: str, size: int) -> set[bytes]:
    norm = normalise(text)
    if len(norm) <= size:  # a text shorter than a shingle is one shingle
        return {norm.encode("utf-8")}
    return {norm[i : i + size].encode("utf-8") for i in range(len(norm) - size + 1)}


def _sketches(texts: Sequence[str], num_perm: int, shingle: int) -> tuple[list[set[bytes]], list[MinHash]]:
    if shingle < 1 or num_perm < 2:
        raise ValueError(f"shingle must be >= 1 and num_perm >= 2, got shingle={shingle}, num_perm={num_perm}")
    sets = [_shingles(t, shingle) for t in texts]
    return sets, MinHash.bulk(sets, num_perm=num_perm, seed=_SEED)


def _lsh(threshold: float, num_perm: int) -> MinHashLSH:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_SLACK), num_perm=num_perm)


def _near(a: set[bytes], b: set[bytes], threshold: float) -> bool:
    """Exact Jaccard of two shingle sets at or above `threshold`."""
    return len(a & b) >= threshold * len(a | b)


def duplicate_groups(
    texts: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5
) -> list[list[int]]:
    """Groups (two or more, each sorted, ordered by first index) of indices whose texts are exact or near duplicates.

    Near means a Jaccard similarity of character `shingle`-gram sets of at least `threshold`;
    groups are closed under the relation (a ~ b and b ~ c put a, b, c together). Callers keep each
    group's first index and drop the rest.
    """
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[str, int] = {}  # content hash -> first index with it; only these go into the LSH
    for i, text in enumerate(texts):
        union(first.setdefault(content_hash(text), i), i)
    distinct = sorted(first.values())
    sets, hashes = (dict(zip(distinct, found, strict=True)) for found in _sketches([texts[i] for i in distinct], num_perm, shingle))
    lsh = _lsh(threshold, num_perm)
    for i in distinct:
        for j in lsh.query(hashes[i]):
            if _near(sets[i], sets[j], threshold):
                union(i, j)
        lsh.insert(i, hashes[i])
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def near_pairs(
    left: Sequence[str], right: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5
) -> list[tuple[int, int]]:
    """Sorted pairs `(i, j)` where `left[i]` is an exact or near duplicate of `right[j]`: the leakage check across splits."""
    right_sets, right_hashes = _sketches(right, num_perm, shingle)
    left_sets, left_hashes = _sketches(left, num_perm, shingle)
    lsh = _lsh(threshold, num_perm)
    for j, mh in enumerate(right_hashes):
        lsh.insert(j, mh)
    right_exact: dict[str, list[int]] = {}
    for j, text in enumerate(right):
        right_exact.setdefault(content_hash(text), []).append(j)
    pairs: set[tuple[int, int]] = set()
    for i, text in enumerate(left):
        pairs.update((i, j) for j in right_exact.get(content_hash(text), ()))
        pairs.update((i, j) for j in lsh.query(left_hashes[i]) if _near(left_sets[i], right_sets[j], threshold))
    return sorted(pairs)
