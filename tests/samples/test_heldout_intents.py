"""The sample's held-out intent set (samples/bank/heldout/intents.jsonl): its shape, and that it is nobody's training data."""

from __future__ import annotations

import json
from collections import Counter

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.install import HELDOUT_DIR

ROWS = [json.loads(line) for line in (HELDOUT_DIR / "intents.jsonl").read_text("utf-8").splitlines()]


def test_every_intent_in_every_language_with_a_header_saying_how_it_was_written():
    header, items = ROWS[0], ROWS[1:]
    assert "without opening the sample's phrase lists" in header["_header"] and "NEVER train" in header["_header"]
    assert len({r["id"] for r in items}) == len(items) == 294
    plain = Counter((r["language"], r["intent"]) for r in items if r["kind"] != "adversarial")
    assert set(plain) == {(lang, i["name"]) for lang in ("en", "es", "vi") for i in INTENTS} and set(plain.values()) == {6}
    assert Counter(r["language"] for r in items if r["kind"] == "adversarial") == {"en": 8, "es": 8, "vi": 8}
    assert {r["intent"] for r in items if r["kind"] == "adversarial"} == {"other"}


def test_few_items_repeat_a_training_text():
    """Written apart, a few short phrasings still match a sample utterance ("tell me a joke"): eval leaves those out."""
    from loopwright.dedup import near_pairs

    training = [json.loads(line)["text"] for name in ("utterances.jsonl", "multilingual/utterances-es.jsonl",
                                                      "multilingual/utterances-vi.jsonl")
                for line in (DATA_DIR / name).read_text("utf-8").splitlines() if line.strip()]
    seen = {i for i, _ in near_pairs([r["text"] for r in ROWS[1:]], training, threshold=0.8, shingle=3)}
    assert 0 < len(seen) <= 0.1 * (len(ROWS) - 1)
