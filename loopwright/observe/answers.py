"""Answer quality against a held-out question set: what `bench/bench_answers.py` reports, per language and tier.

A held-out question (`tests/data/heldout_qa.jsonl`) lists the facts its answer
must state, each as a few acceptable surface forms (`["$15", "15 dollars"]`), or
says the assistant must decline it. A response is what the gateway said: the
answer text, the spans it cited, whether it refused (declined or escalated),
its latency and cost. `grade` scores one response; `summarise` a group:

- accuracy: every fact stated in an answer (not a refusal); a must-decline
  question is correct when refused;
- first sentence: the answer's first sentence states at least one of the facts
  (a multi-part question cannot fit every fact in one sentence);
- median answer length in words (answers only; citation markers and table rules
  are not words);
- citation precision: share of cited spans whose text holds a fact of the
  question (answerable questions only; withheld span text is not judged);
- decline precision and recall: refusals that were due, and due refusals made;
- latency p50/p95, and cost per accepted answer (total cost / correct responses).

Matching is a plain substring test on normalised text (`normalise`), at word
boundaries: case and diacritics folded (so Vietnamese typed without accents
matches), citation markers dropped, thousands separators dropped and a decimal
comma read as a point ("$5.000" = "$5,000" = "$5000", "9,9 %" = "9.9%"),
trailing decimal zeros dropped ("$15.00" = "$15", "4.10%" = "4.1%"), "$ 15" =
"$15", "9am" = "9 am", other punctuation read as a space. Anything subtler (a
number in words, a paraphrase) must be listed as its own surface form. A fact
counts wherever the answer states it, so an answer that staples spans gets
credit for an amount it quotes for another reason ("$25" is a wire fee and an
opening deposit); the first-sentence rate and citation precision show that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.errors import InvalidInput
from loopwright.text import strip_accents

if TYPE_CHECKING:
    from loopwright.serving.trace import Trace

KINDS = ("plain", "typo", "code_switch", "table_cell", "multi_part", "decline")
LANGUAGES = ("en", "es", "vi")
REFUSALS = ("declined", "escalated")

_MARKER = re.compile(r"\[\d+\]")
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")
_ZEROS = re.compile(r"(\d+\.\d*?)0+(?!\d)")
_BARE_POINT = re.compile(r"(?<=\d)\.(?!\d)")
_CURRENCY = re.compile(r"\$\s+(?=\d)")
_PERCENT = re.compile(r"(?<=\d)\s+%")
_MERIDIEM = re.compile(r"(?<=\d)(am|pm)\b")
_OTHER = re.compile(r"[^\w$%.]|_|(?<!\d)\.|\.(?!\d)")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n|\[\d+\]")


def normalise(text: str) -> str:
    """`text` folded for fact matching (see the module docstring), with a space at each end."""
    t = strip_accents(text).lower()
    t = _MARKER.sub(" ", t)
    t = _THOUSANDS.sub("", t)
    t = _DECIMAL_COMMA.sub(".", t)
    t = _ZEROS.sub(r"\1", t)
    t = _BARE_POINT.sub("", t)
    t = _CURRENCY.sub("$", t)
    t = _PERCENT.sub("%", t)
    t = _MERIDIEM.sub(r" \1", t)
    t = _OTHER.sub(" ", t)
    return f" {' '.join(t.split())} "


def states(text: str, forms: Sequence[str]) -> bool:
    """Whether `text` states a fact: any of its surface forms appears in it, whole words, after `normalise`."""
    folded = normalise(text)
    return any(normalise(form) in folded for form in forms if form.strip())


def first_sentence(text: str) -> str:
    """The answer up to its first sentence end: `.`, `!` or `?` before a space, a line break, or a citation marker."""
    text = text.strip()
    end = _SENTENCE_END.search(text)
    return text[: end.end()] if end else text


def word_count(text: str) -> int:
    """Words in an answer: citation markers and tokens without a letter or digit (table rules, dashes) not counted."""
    return sum(1 for w in _MARKER.sub(" ", text).split() if any(c.isalnum() for c in w))


# -- the held-out set ------------------------------------------------------------------


@dataclass(frozen=True)
class HeldOutQuestion:
    """One held-out question: its wording, the facts its answer must state, and where they are written."""

    id: str
    language: str
    question: str
    facts: tuple[tuple[str, ...], ...]  # each fact: its acceptable surface forms
    docs: tuple[str, ...]  # document ids (front matter `id`) that hold the facts
    kind: str
    must_decline: bool
    tenant: str

    @classmethod
    def from_row(cls, row: Any) -> HeldOutQuestion:
        """A question from one JSON row; a malformed row raises `InvalidInput` naming the field."""
        if not isinstance(row, dict):
            raise InvalidInput("a question row must be a JSON object")
        missing = [k for k in ("id", "language", "question", "facts", "docs", "kind", "must_decline", "tenant") if k not in row]
        if missing:
            raise InvalidInput(f"question {row.get('id', '?')!r} is missing {', '.join(missing)}")
        qid = row["id"]
        if row["language"] not in LANGUAGES:
            raise InvalidInput(f"question {qid!r}: language {row['language']!r} is not one of {', '.join(LANGUAGES)}")
        if row["kind"] not in KINDS:
            raise InvalidInput(f"question {qid!r}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
        if not isinstance(row["must_decline"], bool):
            raise InvalidInput(f"question {qid!r}: must_decline must be true or false")
        facts = row["facts"]
        if not isinstance(facts, list) or not all(isinstance(f, list) and f and all(isinstance(s, str) and s.strip() for s in f) for f in facts):
            raise InvalidInput(f"question {qid!r}: facts must be a list of non-empty lists of surface forms",
                               hint='e.g. [["$15", "15 dollars"], ["4 plans", "four plans"]]')
        if row["must_decline"] == bool(facts):
            raise InvalidInput(f"question {qid!r}: a question has facts or must be declined, not both or neither")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise InvalidInput(f"question {qid!r}: question must be non-empty text")
        if not isinstance(row["docs"], list) or not all(isinstance(d, str) and d for d in row["docs"]):
            raise InvalidInput(f"question {qid!r}: docs must be a list of document ids")
        return cls(id=str(qid), language=row["language"], question=row["question"], facts=tuple(tuple(f) for f in facts),
                   docs=tuple(row["docs"]), kind=row["kind"], must_decline=row["must_decline"], tenant=str(row["tenant"]))


def load_questions(path: Path) -> list[HeldOutQuestion]:
    """The questions in a JSON-lines file; a first line holding `"_header"` is its description, not a question."""
    questions, seen = [], set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not JSON ({exc.msg})") from None
        if number == 1 and isinstance(row, dict) and "_header" in row:
            continue
        try:
            question = HeldOutQuestion.from_row(row)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}:{number}: {exc.message}", hint=exc.hint) from None
        if question.id in seen:
            raise InvalidInput(f"{path}:{number}: question id {question.id!r} appears twice")
        seen.add(question.id)
        questions.append(question)
    return questions


# -- responses and grades --------------------------------------------------------------


@dataclass(frozen=True)
class CitedSpan:
    """A span an answer cites: its document and text (None when the caller's ceiling withheld it)."""

    doc_id: str
    text: str | None


@dataclass(frozen=True)
class Response:
    """What the gateway answered to one question."""

    text: str
    citations: tuple[CitedSpan, ...] = ()
    refused: bool = False  # declined or escalated instead of answering
    latency_ms: float = 0.0
    cost: float = 0.0
    tier: str | None = None  # the tier that answered, as the trace says

    @classmethod
    def from_trace(cls, trace: Trace) -> Response:
        """The response a typed trace records (in-process `Completion.trace`, or one read back from the store)."""
        return cls(text=trace.output or "", citations=tuple(CitedSpan(c.doc_id, c.text) for c in trace.citations),
                   refused=trace.outcome in REFUSALS, latency_ms=trace.latency_ms or 0.0, cost=trace.cost or 0.0,
                   tier=trace.tier)


@dataclass(frozen=True)
class Grade:
    """One response scored against its question; `label` names what answered it (a tier under test)."""

    question: HeldOutQuestion
    response: Response
    label: str
    correct: bool
    facts_stated: int
    first_sentence: bool | None  # None for a must-decline question
    words: int | None  # None for a refusal
    cited: int  # cited spans judged (text not withheld), answerable questions only
    cited_with_fact: int


def grade(question: HeldOutQuestion, response: Response, *, label: str = "") -> Grade:
    """Score one response: facts stated, first sentence, length, citations, and whether it is correct."""
    answered = not response.refused
    stated = sum(states(response.text, forms) for forms in question.facts) if answered else 0
    correct = response.refused if question.must_decline else answered and stated == len(question.facts)
    lead = first_sentence(response.text)
    judged = [c for c in response.citations if c.text is not None] if not question.must_decline else []
    return Grade(
        question=question, response=response, label=label, correct=correct, facts_stated=stated,
        first_sentence=None if question.must_decline else answered and any(states(lead, forms) for forms in question.facts),
        words=word_count(response.text) if answered else None,
        cited=len(judged), cited_with_fact=sum(any(states(c.text, forms) for forms in question.facts) for c in judged),
    )


def _rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def summarise(grades: Sequence[Grade]) -> dict[str, Any]:
    """Accuracy, first-sentence rate, median words, citation precision, decline precision/recall, latency, cost."""
    n = len(grades)
    if not n:
        return {"questions": 0}
    answerable = [g for g in grades if not g.question.must_decline]
    due = sum(g.question.must_decline for g in grades)
    refused = sum(g.response.refused for g in grades)
    refused_due = sum(g.response.refused and g.question.must_decline for g in grades)
    words = [g.words for g in grades if g.words is not None]
    latency = np.array([g.response.latency_ms for g in grades], dtype=float)
    cost = sum(g.response.cost for g in grades)
    correct = sum(g.correct for g in grades)
    cited = sum(g.cited for g in answerable)
    return {
        "questions": n,
        "correct": correct,
        "accuracy": _rate(correct, n),
        "answerable_accuracy": _rate(sum(g.correct for g in answerable), len(answerable)),
        "first_sentence_rate": _rate(sum(bool(g.first_sentence) for g in answerable), len(answerable)),
        "median_words": float(np.median(words)) if words else None,
        "citation_precision": _rate(sum(g.cited_with_fact for g in answerable), cited),
        "cited_spans": cited,
        "decline_precision": _rate(refused_due, refused),
        "decline_recall": _rate(refused_due, due),
        "refusals": refused,
        "must_decline": due,
        "latency_ms": {"p50": round(float(np.percentile(latency, 50)), 2), "p95": round(float(np.percentile(latency, 95)), 2)},
        "total_cost_usd": round(cost, 8),
        "cost_per_accepted_usd": round(cost / correct, 8) if correct else None,
    }


def summarise_by(grades: Iterable[Grade], key: Callable[[Grade], str]) -> dict[str, dict[str, Any]]:
    """`summarise` per group, groups named by `key` (e.g. `lambda g: g.question.language`), sorted by name."""
    groups: dict[str, list[Grade]] = {}
    for g in grades:
        groups.setdefault(key(g), []).append(g)
    return {name: summarise(groups[name]) for name in sorted(groups)}
