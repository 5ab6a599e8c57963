"""Exact and near-duplicate detection on the sample's real utterances, with planted duplicates."""

from __future__ import annotations

import json
import random

import pytest

from loopwright.dedup import content_hash, duplicate_groups, near_pairs, normalise
from loopwright.samples.bank import DATA_DIR


@pytest.fixture(scope="module")
def utterances() -> list[str]:
    lines = [*(DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines(),
             *(DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines()]
    texts = [t for t in (json.loads(line)["text"] for line in lines) if len(t) > 80]
    # the sample itself may hold near duplicates; keep one of each so planted ones are the only ones
    drop = {i for g in duplicate_groups(texts) for i in g[1:]}
    return [t for i, t in enumerate(texts) if i not in drop]


def _typo(text: str, rng: random.Random) -> str:
    """One character changed: at most 5 of 76+ shingles differ, a Jaccard of 0.87 or more for 80+ characters."""
    i = rng.randrange(len(text))
    return text[:i] + ("x" if text[i] != "x" else "y") + text[i + 1 :]


def test_normalise_and_hash_fold_case_width_and_space():
    assert normalise("  Ｆreeze   MY\tCard ") == "freeze my card"
    assert content_hash("Freeze my card") == content_hash("freeze  MY card\n")
    assert content_hash("freeze my card") != content_hash("freeze my cards")


def test_planted_duplicates_are_grouped_and_nothing_else(utterances):
    rng = random.Random(5)
    texts = list(utterances)
    planted = {}
    for src in rng.sample(range(len(utterances)), 12):
        planted[src] = len(texts)
        texts.append(_typo(utterances[src], rng) if src % 2 else utterances[src].upper() + "  ")
    groups = duplicate_groups(texts)
    assert sorted(groups) == sorted([src, dup] for src, dup in planted.items())
    assert duplicate_groups(texts) == groups  # deterministic


def test_groups_are_transitive_and_sorted():
    a = "my debit card was charged twice at the grocery store on main street yesterday evening, can you reverse one?"
    b = a.replace("twice", "twise")
    c = b.replace("evening", "evenin")
    groups = duplicate_groups(["unrelated words about savings rates and interest", c, a, b])
    assert groups == [[1, 2, 3]]


def test_unrelated_texts_are_not_paired(utterances):
    assert duplicate_groups(utterances) == []
    assert duplicate_groups([]) == []
    assert duplicate_groups(["hi", "hi there", "hello"]) == []


def test_near_pairs_finds_leakage_across_splits(utterances):
    rng = random.Random(9)
    train, test = utterances[:40], utterances[40:]
    leaked = [test[0], _typo(train[3], rng), train[7].title(), test[1]]
    assert near_pairs(train, leaked) == [(3, 1), (7, 2)]
    assert near_pairs(leaked, train) == [(1, 3), (2, 7)]
    assert near_pairs(train, test) == []


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        duplicate_groups(["a", "b"], threshold=0)
    with pytest.raises(ValueError, match="shingle"):
        near_pairs(["a"], ["b"], shingle=0)
