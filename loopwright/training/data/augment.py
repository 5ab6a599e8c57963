"""Masked-PII copies of training rows: triage reads a message after the gateway has masked it.

A customer writes "Email me at ana@example.com: how fast does a freeze take
effect?" and triage sees "Email me at <EMAIL_1>: how fast ...". A model
fine-tuned on text that never held a placeholder has no reason to read past
one: the Quarter 2 model, whose only rows with a clause before a banking
request were the safety phrasebook's injections, sent such messages to
`other`, and the golden gate caught it. So `[augment] masked_pii` adds, for a
seeded share of the labelled training rows, a copy with a masked-PII clause
before or after it (its intent unchanged), in the row's language. Only the
training split is augmented: validation and test keep their natural text, and
the clauses here are not the evaluation's (`loopwright.training.perturb`
writes its own), so robustness to masking is measured on wording no row had.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from loopwright.training.data.sources import Row

# "{}" is the placeholder; prefixes end before the request, suffixes follow it. Written for this module.
_PREFIXES = {
    "en": ("my email is {}.", "this is {},", "you can reach me on {}.", "account {} here.", "from {}:"),
    "es": ("mi correo es {}.", "soy {},", "me pueden llamar al {}.", "cuenta {}:", "de parte de {}:"),
    "vi": ("email của tôi là {}.", "tôi là {},", "số điện thoại của tôi là {}.", "tài khoản {}:", "từ {}:"),
}
_SUFFIXES = {
    "en": ("my number is {}", "reply to {}", "card {}", "(born {})"),
    "es": ("mi número es {}", "respóndanme a {}", "tarjeta {}", "(nací el {})"),
    "vi": ("số của tôi là {}", "trả lời qua {}", "thẻ {}", "(sinh ngày {})"),
}
# The placeholder each clause carries, by position in its tuple: the entity the wording asks for.
_PREFIX_TAGS = ("EMAIL", "NAME", "PHONE", "ACCOUNT", "EMAIL")
_SUFFIX_TAGS = ("PHONE", "EMAIL", "CARD", "DOB")


def with_masked_pii(text: str, language: str, rng: random.Random) -> str | None:
    """`text` with one masked-PII clause before or after it; None for a language without clauses."""
    if language not in _PREFIXES:
        return None
    if rng.random() < 0.5:
        i = rng.randrange(len(_PREFIXES[language]))
        return f"{_PREFIXES[language][i].format(f'<{_PREFIX_TAGS[i]}_1>')} {text}"
    i = rng.randrange(len(_SUFFIXES[language]))
    return f"{text.rstrip()} {_SUFFIXES[language][i].format(f'<{_SUFFIX_TAGS[i]}_1>')}"


def add_masked_pii(rows: list[Row], share: float, seed: int) -> tuple[list[Row], Counter]:
    """`rows` plus, for about `share` of the labelled ones (oversampled copies aside), a copy (`ID#pii`) with a
    masked-PII clause; the count added per language."""
    if share <= 0:
        return rows, Counter()
    out, added = list(rows), Counter()
    for row in rows:
        rng = random.Random(f"{seed}:masked_pii:{row.id}")  # per row: adding rows never moves another's copy
        if row.intent is None or "#" in row.id or rng.random() >= share:
            continue
        text = with_masked_pii(row.text, row.language, rng)
        if text is not None:
            out.append(replace(row, id=f"{row.id}#pii", text=text))
            added[f"masked_pii:{row.language}"] += 1
    return out, added
