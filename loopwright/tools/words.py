"""Does the customer's message ask for this action? Their own words, read against a contract's action words.

A triage model that says `card_unfreeze` (0.95) for "freeze card ending 5212"
must not unfreeze the card. So before a tool with an opposite acts on a
classifier's word, its contract's words (`ToolSpec.words`, per language) and
its opposite's are looked for in the message, and each match is checked for a
negation in front of it ("don't freeze", "no congelen", "đừng khóa"):

    affirmed      the words ask for this action and not for its opposite: act as the policy says
    contradicted  the words ask for the opposite (and not for this): propose the opposite, confirmed
    negated       the words ask *not* to do this: refuse
    unclear       neither, or both: ask the customer to confirm the named action

Matching is case- and accent-insensitive (customers type "khoa the" and
"bloqueala"), starts at a word start, and a match inside a longer match of the
other action does not count ("unfreeze" holds "freeze", "mở khóa" holds
"khóa", "take the freeze off" holds "freeze"). A negation counts when one of
the language's cues stands in the same clause, at most `WINDOW` words before
the match. Every language's words are read, whatever the message's language:
customers mix them. Errors here err towards asking: a missed negation could
act, so the cues are broad; a false one only asks to confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from loopwright.policy.verdicts import Verdict, failed, passed
from loopwright.text import strip_accents

if TYPE_CHECKING:
    from loopwright.tools.contract import ActionWords, ToolSpec

Reading = Literal["affirmed", "contradicted", "negated", "unclear"]

WINDOW = 5
"""Words before a match that a negation cue may stand at ("I do not want you to freeze": 4)."""

NEGATIONS: dict[str, tuple[str, ...]] = {
    "en": (r"not", r"never", r"no", r"\w+n't", r"(?:do|does|did|is|are|was|were|would|should|could|wo|ca|have|has)nt",
           r"nobody", r"nothing"),
    "es": (r"no", r"nunca", r"jamas", r"tampoco", r"ni", r"sin"),
    # folded: "không", "đừng", "chưa", "chẳng", "khỏi" ("khỏi cần": no need), "thôi" ("thôi khỏi": never mind)
    "vi": (r"khong", r"dung", r"chua", r"chang", r"khoi", r"thoi"),
}
"""Negation cues per language, accent-folded, each a whole word."""

# Clause breaks: punctuation and the conjunctions that start a new request ("don't freeze it, unfreeze it").
_CLAUSE = re.compile(r"[,.;:!?¿¡\n]|\b(?:but|pero|sino|nhung|ma|and then|y luego|roi)\b")
_WORD = re.compile(r"[\w']+")
_NEGATION = re.compile(r"^(?:" + "|".join(p for cues in NEGATIONS.values() for p in cues) + r")$")


def fold(text: str) -> str:
    """Lower case, no accents, curly apostrophes straight: how words are matched."""
    return strip_accents(text.lower().replace("\u2019", "'"))


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(f"(?:{fold(w)})" for w in words) + r")")


def _all_languages(words: ActionWords) -> tuple[str, ...]:
    return tuple(w for language in sorted(words) for w in words[language])


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    negated: bool


def _matches(pattern: re.Pattern[str] | None, text: str) -> list[_Match]:
    if pattern is None:
        return []
    return [_Match(m.start(), m.end(), _negated(text, m.start())) for m in pattern.finditer(text) if m.end() > m.start()]


def _negated(text: str, start: int) -> bool:
    before = text[:start]
    breaks = list(_CLAUSE.finditer(before))
    clause = before[breaks[-1].end():] if breaks else before
    return any(_NEGATION.match(word) for word in _WORD.findall(clause)[-WINDOW:])


def _outside(matches: list[_Match], other: list[_Match]) -> list[_Match]:
    """`matches` less those inside a longer match of the other action."""
    return [m for m in matches
            if not any(o.start <= m.start and m.end <= o.end and (o.end - o.start) > (m.end - m.start) for o in other)]


@dataclass(frozen=True)
class WordCheck:
    """What the customer's words say about one tool call."""

    tool: str
    reading: Reading
    opposite: str | None

    def verdict(self) -> Verdict:
        """The check as the trace records it; a failing verdict names what the words ask for instead."""
        rule = f"tools.{self.tool}.words"
        if self.reading == "affirmed":
            return passed("action_words", rule, f"the customer's words ask to {_label(self.tool)}")
        if self.reading == "contradicted":
            return failed("action_words", rule, f"the customer's words ask to {_label(self.opposite)}, "
                          f"not to {_label(self.tool)}", "confirm")
        if self.reading == "negated":
            return failed("action_words", rule, f"the customer's words ask not to {_label(self.tool)}", "refuse")
        return failed("action_words", rule, f"the customer's words do not clearly ask to {_label(self.tool)}", "confirm")


def _label(name: str | None) -> str:
    return (name or "do the opposite").replace("_", " ")


def read_words(text: str, words: ActionWords, opposite_words: ActionWords) -> Reading:
    """How `text` stands towards an action with these `words`, given its opposite's."""
    folded = fold(text)
    own = _matches(_pattern(_all_languages(words)), folded)
    other = _matches(_pattern(_all_languages(opposite_words)), folded)
    own, other = _outside(own, other), _outside(other, own)
    asks = any(not m.negated for m in own)
    refuses = any(m.negated for m in own)
    asks_opposite = any(not m.negated for m in other)
    if asks and not refuses and not asks_opposite:
        return "affirmed"
    if asks_opposite and not asks:
        return "contradicted"
    if refuses and not asks:
        return "negated"
    return "unclear"


def check_words(spec: ToolSpec, text: str, opposite: ToolSpec | None = None) -> WordCheck | None:
    """The customer's words read against `spec`'s action words; None when the contract declares none.

    `opposite` is the opposite tool's contract, when the opposite is a tool: its words
    stand in for `spec.opposite_words` when the contract leaves those empty.
    """
    if not spec.words:
        return None
    opposite_words = spec.opposite_words or (opposite.words if opposite is not None else {})
    return WordCheck(spec.name, read_words(text, spec.words, opposite_words), spec.opposite)
