"""Exact and near-duplicate text detection, shared by curation and the training plane's data prepare.

Exact duplicates compare by the sha256 of the normalised text. Near duplicates are found with
MinHash LSH (datasketch) over character shingles of the normalised text, then confirmed on the
MinHash estimate of their Jaccard similarity, since LSH buckets also hold some pairs below the
threshold. Every hash is seeded (datasketch's fixed seed and sha1-based shingle hash), so the same
texts always give the same groups.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

from datasketch import MinHash, MinHashLSH

_SEED = 1  # datasketch's default, pinned here so a library default change cannot move results
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


def _minhashes(texts: Sequence[str], num_perm: int, shingle: int) -> list[MinHash]:
    if shingle < 1 or num_perm < 2:
        raise ValueError(f"shingle must be >= 1 and num_perm >= 2, got shingle={shingle}, num_perm={num_perm}")
    return MinHash.bulk((_shingles(t, shingle) for t in texts), num_perm=num_perm, seed=_SEED)


def _lsh(threshold: float, num_perm: int) -> MinHashLSH:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    return MinHashLSH(threshold=threshold, num_perm=num_perm)


def duplicate_groups(
    texts: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5
) -> list[list[int]]:
    """Groups (two or more, each sorted, ordered by first index) of indices whose texts are exact or near duplicates.

    Near means an estimated Jaccard similarity of character `shingle`-grams of at least `threshold`;
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
    hashes = dict(zip(distinct, _minhashes([texts[i] for i in distinct], num_perm, shingle), strict=True))
    lsh = _lsh(threshold, num_perm)
    for i in distinct:
        for j in lsh.query(hashes[i]):
            if hashes[i].jaccard(hashes[j]) >= threshold:
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
    right_hashes = _minhashes(right, num_perm, shingle)
    lsh = _lsh(threshold, num_perm)
    for j, mh in enumerate(right_hashes):
        lsh.insert(j, mh)
    right_exact: dict[str, list[int]] = {}
    for j, text in enumerate(right):
        right_exact.setdefault(content_hash(text), []).append(j)
    pairs: set[tuple[int, int]] = set()
    for i, (text, mh) in enumerate(zip(left, _minhashes(left, num_perm, shingle), strict=True)):
        pairs.update((i, j) for j in right_exact.get(content_hash(text), ()))
        pairs.update((i, j) for j in lsh.query(mh) if mh.jaccard(right_hashes[j]) >= threshold)
    return sorted(pairs)
