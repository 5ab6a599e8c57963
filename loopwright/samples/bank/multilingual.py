"""The expanded Spanish and Vietnamese corpus (data/multilingual/): labelled utterances per intent, bank passages,
and the safety phrasebook's messages in all three languages.

Drawn from `phrases.multilingual` (utterances-*.jsonl), `phrases.situations` (situations-*.jsonl) and
`phrases.safety` (safety.jsonl), seeded, with the same surface noise as the
base utterances; every text is new after folding (none repeats a base
utterance), so it adds phrasings instead of weight. `config/recipes/multilingual.toml`
and `quarter2.toml` name each file with its licence and provenance.
"""

import random
from collections.abc import Callable
from itertools import cycle

from loopwright.samples.bank.catalog import INTENTS
from loopwright.samples.bank.noise import fold
from loopwright.samples.bank.phrases import multilingual, safety, situations
from loopwright.samples.bank.utterances import draw, fill

# Vietnamese lags most (triage accuracy 0.84 against 0.98 for English), so it gets the most new text.
PER_INTENT = {"es": 40, "vi": 60}
# The situations phrasebook: an opener, a core and a closer per text, so more draws per intent stay distinct.
SITUATIONS_PER_INTENT = {"es": 60, "vi": 90}
# Safety messages per language, all `other`: a quarter whole messages, the rest a frame around a payload, a fifth of
# those payloads in another language (code-switching).
SAFETY_PER_LANGUAGE = {"en": 80, "es": 80, "vi": 80}
SAFETY_STANDALONE = 0.25
SAFETY_CODE_SWITCH = 0.2


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


def _safety_maker(rng: random.Random, language: str) -> Callable[[], str]:
    """Safety messages in `language`: a whole message, or a frame around a payload (some in another language). Frames
    and whole messages are taken in turn, shuffled, so every one is drawn before any repeats."""
    frames, whole = (cycle(rng.sample(texts, len(texts))) for texts in (safety.FRAMES[language], safety.STANDALONE[language]))

    def make() -> str:
        if rng.random() < SAFETY_STANDALONE:
            return fill(next(whole), language, rng, safety.SLOTS[language])
        said = rng.choice([x for x in safety.PAYLOADS if x != language]) if rng.random() < SAFETY_CODE_SWITCH else language
        payload = fill(rng.choice(safety.PAYLOADS[said]), said, rng, safety.SLOTS[said])
        return fill(next(frames), language, rng, {**safety.SLOTS[language], "payload": [payload]})

    return make


def generate_safety_utterances(seed: int, taken_rows: list[dict]) -> list[dict]:
    """SAFETY_PER_LANGUAGE[language] messages per language from `phrases.safety`, labelled `safety.INTENT`, none
    equal (folded) to a text of `taken_rows` or to each other; ids x<language>00001..."""
    rng = random.Random(f"safety-{seed}")
    taken = {fold(u["text"]) for u in taken_rows}
    rows = []
    for language, count in SAFETY_PER_LANGUAGE.items():
        drawn = draw(_safety_maker(rng, language), language, count, rng, taken, key=fold)
        rows += _rows(rng, "x", language, [(text, safety.INTENT) for text in drawn])
    return rows


def multilingual_passages(language: str) -> list[dict]:
    """The written passages of `language`, one per topic."""
    return [{"id": f"p{language}-{topic}", "text": text, "language": language, "topic": topic}
            for topic, text in multilingual.PASSAGES[language]]
