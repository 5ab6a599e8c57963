"""The expanded Spanish and Vietnamese corpus (data/multilingual/): labelled utterances per intent and bank passages.

Drawn from `phrases.multilingual` (utterances-*.jsonl) and `phrases.situations` (situations-*.jsonl), seeded, with the same surface noise as the
base utterances; every text is new after folding (none repeats a base
utterance), so it adds phrasings instead of weight. `config/recipes/multilingual.toml`
names each file with its licence and provenance.
"""

import random

from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.noise import fold, perturb
from loopwright.samples.bank.phrases import multilingual, situations
from loopwright.samples.bank.utterances import NOISE_RATE, fill

# Vietnamese lags most (triage accuracy 0.84 against 0.98 for English), so it gets the most new text.
PER_INTENT = {"es": 40, "vi": 60}
# The situations phrasebook: an opener, a core and a closer per text, so more draws per intent stay distinct.
SITUATIONS_PER_INTENT = {"es": 60, "vi": 90}


def generate_multilingual_utterances(seed: int, language: str, base: list[dict]) -> list[dict]:
    """Up to PER_INTENT[language] new texts per intent, none equal (folded) to a base utterance or each other."""
    rng = random.Random(f"multilingual-{language}-{seed}")
    taken = {fold(u["text"]) for u in base}
    rows = []
    for intent in (i["name"] for i in INTENTS):
        templates = multilingual.TEMPLATES[language][intent]
        drawn = 0
        for _ in range(PER_INTENT[language] * 50):
            if drawn == PER_INTENT[language]:
                break
            text = fill(rng.choice(templates), language, rng, multilingual.SLOTS[language])
            if rng.random() < NOISE_RATE:
                text = perturb(text, rng, language)
            if text.strip() and fold(text) not in taken:
                taken.add(fold(text))
                rows.append((text, intent))
                drawn += 1
    rng.shuffle(rows)
    return [{"id": f"m{language}{i:05d}", "text": text, "intent": intent, "language": language}
            for i, (text, intent) in enumerate(rows, start=1)]


def generate_situation_utterances(seed: int, language: str, taken_rows: list[dict]) -> list[dict]:
    """Up to SITUATIONS_PER_INTENT[language] texts per intent from `phrases.situations`, none equal (folded) to a
    text of `taken_rows` (the base and multilingual utterances) or to each other."""
    rng = random.Random(f"situations-{language}-{seed}")
    taken = {fold(u["text"]) for u in taken_rows}
    slots = {**situations.SLOTS[language], "opener": situations.OPENERS[language], "closer": situations.CLOSERS[language]}
    rows, count = [], SITUATIONS_PER_INTENT[language]
    for intent in (i["name"] for i in INTENTS):
        cores, drawn = situations.CORES[language][intent], 0
        for _ in range(count * 50):
            if drawn == count:
                break
            text = fill("{opener}" + rng.choice(cores) + "{closer}", language, rng, slots)
            if rng.random() < NOISE_RATE:
                text = perturb(text, rng, language)
            if text.strip() and fold(text) not in taken:
                taken.add(fold(text))
                rows.append((text, intent))
                drawn += 1
    rng.shuffle(rows)
    return [{"id": f"s{language}{i:05d}", "text": text, "intent": intent, "language": language}
            for i, (text, intent) in enumerate(rows, start=1)]


def multilingual_passages(language: str) -> list[dict]:
    """The written passages of `language`, one per topic."""
    return [{"id": f"p{language}-{topic}", "text": text, "language": language, "topic": topic}
            for topic, text in multilingual.PASSAGES[language]]
