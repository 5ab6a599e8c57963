"""Seeded surface noise for customer text: typos, casing, punctuation, spacing, accents.

Real customers type on phones; a classifier or cache that only sees clean text
is tested against nothing.
"""

import random
import re

from loopwright.text import strip_accents


def typo(text: str, rng: random.Random) -> str:
    """Swap, drop or double one letter inside a word."""
    positions = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not positions:
        return text
    i = rng.choice(positions)
    op = rng.randrange(3)
    if op == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def recase(text: str, rng: random.Random) -> str:
    """All lower, all upper, or a leading capital dropped."""
    op = rng.randrange(3)
    if op == 0:
        return text.lower()
    if op == 1:
        return text.upper()
    return text[:1].lower() + text[1:]


def strip_punctuation(text: str) -> str:
    """Drop sentence punctuation (chat users rarely end with a question mark)."""
    return re.sub(r"[?¿!¡.,]", "", text)


def respace(text: str, rng: random.Random) -> str:
    """Double a space, or pad the ends, as pasted or thumb-typed text does."""
    spaces = [m.start() for m in re.finditer(" ", text)]
    if spaces and rng.random() < 0.6:
        i = rng.choice(spaces)
        return text[:i] + "  " + text[i + 1 :]
    return rng.choice(["  ", " ", "\t"]) + text + rng.choice(["", " ", "  "])


def perturb(text: str, rng: random.Random, language: str) -> str:
    """Apply one or two noise operations; accent dropping only where accents exist."""
    ops = ["typo", "case", "punct", "space"]
    if language in ("es", "vi"):
        ops.append("accents")
    for op in rng.sample(ops, rng.choice((1, 1, 2))):
        if op == "typo":
            text = typo(text, rng)
        elif op == "case":
            text = recase(text, rng)
        elif op == "punct":
            text = strip_punctuation(text)
        elif op == "space":
            text = respace(text, rng)
        else:
            text = strip_accents(text)
    return text


def fold(text: str) -> str:
    """Lower-case and collapse whitespace: the identity used for disjointness checks."""
    return " ".join(text.lower().split())
