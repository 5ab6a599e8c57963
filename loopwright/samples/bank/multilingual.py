"""The expanded Spanish and Vietnamese corpus (data/multilingual/): labelled utterances per intent and bank passages.

Drawn from `phrases.multilingual` (utterances-*.jsonl) and `phrases.situations` (situations-*.jsonl), seeded, with the same surface noise as the
base utterances; every text is new after folding (none repeats a base
utterance), so it adds phrasings instead of weight. `config/recipes/multilingual.toml`
names each file with its licence and provenance.
"""

import random

from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.noise import fold
from loopwright.samples.bank.phrases import multilingual, situations
from loopwright.samples.bank.utterances import draw, fill

# Vietnamese lags most (triage accuracy 0.84 against 0.98 for English), so it gets the most new text.
PER_INTENT = {"es": 40, "vi": 60}
# The situations phrasebook: an opener, a core and a closer per text, so more draws per intent stay distinct.
SITUATIONS_PER_INTENT = {"es": 60, "vi": 90}


def _rows(rng: random.Random, prefix: str, language: str, drawn: list[tuple[str, str]]) -> list[dict]:
    rng.shuffle(drawn)
    return [{"id": f"{prefix}{language}{i:05d}", "text": text, "intent": intent, "language": language}
            for i, (text, intent) in enumerate(drawn, start=1)]


def generate_multilingual_utterances(seed: int, language: str, base: list[dict]) -> list[dict]:
    """Up to PER_INTENT[language] new texts per intent, none equal (folded) to a base utterance or each other."""
    rng = random.Random(f"multilingual-{language}-{seed}")
    taken = {fold(u["text"]) for u in base}
    rows = []
    for intent in (i["name"] for i in INTENTS):
        templates = multilingual.TEMPLATES[language][intent]
        make = lambda t=templates: fill(rng.choice(t), language, rng, multilingual.SLOTS[language])  # noqa: E731
        drawn = draw(make, language, PER_INTENT[language], rng, taken, key=fold, tries=50, partial=True)
        rows += [(text, intent) for text in drawn]
    return _rows(rng, "m", language, rows)


def generate_situation_utterances(seed: int, language: str, taken_rows: list[dict]) -> list[dict]:
    """Up to SITUATIONS_PER_INTENT[language] texts per intent from `phrases.situations`, none equal (folded) to a
    text of `taken_rows` (the base and multilingual utterances) or to each other."""
    rng = random.Random(f"situations-{language}-{seed}")
    taken = {fold(u["text"]) for u in taken_rows}
    slots = {**situations.SLOTS[language], "opener": situations.OPENERS[language], "closer": situations.CLOSERS[language]}
    rows = []
    for intent in (i["name"] for i in INTENTS):
        cores = situations.CORES[language][intent]
        make = lambda c=cores: fill("{opener}" + rng.choice(c) + "{closer}", language, rng, slots)  # noqa: E731
        drawn = draw(make, language, SITUATIONS_PER_INTENT[language], rng, taken, key=fold, tries=50, partial=True)
        rows += [(text, intent) for text in drawn]
    return _rows(rng, "s", language, rows)


def multilingual_passages(language: str) -> list[dict]:
    """The written passages of `language`, one per topic."""
    return [{"id": f"p{language}-{topic}", "text": text, "language": language, "topic": topic}
            for topic, text in multilingual.PASSAGES[language]]
