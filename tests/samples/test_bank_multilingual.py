"""The sample's expanded Spanish and Vietnamese corpus and its recipe: every source present, licensed, new text."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.noise import fold
from loopwright.samples.bank.phrases import safety
from loopwright.training.recipes import load_recipe

RECIPE = DATA_DIR.parent / "config" / "recipes" / "multilingual.toml"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_the_recipe_validates_and_names_every_file_with_its_terms():
    recipe, _ = load_recipe(RECIPE)
    paths = [RECIPE.parent / s.path for s in recipe.sources if s.path]
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    assert {s.dataset for s in recipe.sources if s.dataset} == {"dataset/intents"}
    assert all(s.licence == "CC0-1.0" and s.provenance and s.consent for s in recipe.sources)


@pytest.mark.parametrize("language", ["es", "vi"])
def test_new_utterances_cover_every_intent_and_repeat_no_base_text(language):
    rows = _rows(DATA_DIR / "multilingual" / f"utterances-{language}.jsonl")
    per_intent = Counter(r["intent"] for r in rows)
    assert set(per_intent) == {i["name"] for i in INTENTS} and min(per_intent.values()) >= 30
    assert {r["language"] for r in rows} == {language}
    base = {fold(r["text"]) for r in _rows(DATA_DIR / "utterances.jsonl")}
    assert not [r["text"] for r in rows if fold(r["text"]) in base]
    passages = _rows(DATA_DIR / "multilingual" / f"passages-{language}.jsonl")
    assert len(passages) == 12 and all("intent" not in p for p in passages)


@pytest.mark.parametrize("language", ["es", "vi"])
def test_situations_cover_every_intent_and_repeat_no_earlier_text(language):
    rows = _rows(DATA_DIR / "multilingual" / f"situations-{language}.jsonl")
    per_intent = Counter(r["intent"] for r in rows)
    assert set(per_intent) == {i["name"] for i in INTENTS} and min(per_intent.values()) >= 60
    earlier = _rows(DATA_DIR / "utterances.jsonl") + _rows(DATA_DIR / "multilingual" / f"utterances-{language}.jsonl")
    taken = {fold(r["text"]) for r in earlier}
    assert not [r["text"] for r in rows if fold(r["text"]) in taken]
    assert len({fold(r["text"]) for r in rows}) == len(rows)


def test_safety_messages_are_other_in_every_language_and_repeat_no_earlier_text():
    rows = _rows(DATA_DIR / "multilingual" / "safety.jsonl")
    assert Counter(r["language"] for r in rows) == {"en": 80, "es": 80, "vi": 80}
    assert {r["intent"] for r in rows} == {"other"}
    earlier = [*_rows(DATA_DIR / "utterances.jsonl"), *(r for language in ("es", "vi") for kind in ("utterances", "situations")
                                                         for r in _rows(DATA_DIR / "multilingual" / f"{kind}-{language}.jsonl"))]
    taken = {fold(r["text"]) for r in earlier}
    folded = [fold(r["text"]) for r in rows]
    assert taken.isdisjoint(folded) and len(set(folded)) == len(folded)
    # the attacks the phrasebook is for: injections in each language, chat-template tokens, code-switched payloads
    for marker in ("ignore previous instructions", "ignora las instrucciones", "bỏ qua mọi hướng dẫn", "<|im_start|>"):
        assert any(marker in text for text in folded), marker
    english = [p.split("{")[0].lower() for p in safety.PAYLOADS["en"] if not p.startswith("{")]
    assert any(e in fold(r["text"]) for r in rows if r["language"] != "en" for e in english)  # code-switched


def test_the_quarter2_recipe_adds_the_situations_and_safety_to_the_multilingual_sources():
    multilingual, _ = load_recipe(RECIPE)
    quarter2, _ = load_recipe(RECIPE.parent / "quarter2.toml")
    added = {s.name for s in quarter2.sources} - {s.name for s in multilingual.sources}
    assert added == {"situations-es", "situations-vi", "safety"}
    assert all((RECIPE.parent / s.path).is_file() and s.licence == "CC0-1.0" for s in quarter2.sources if s.path)
