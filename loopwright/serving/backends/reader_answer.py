"""The reader's answer text: each chosen span said as one sentence, cited, most likely first.

A prose span is cut to its sentence that holds the predicted answer; a table
row becomes a sentence built from its headers, keeping the cells left of the
answer that qualify it ("The APY for Goal Saver (balance tier: up to
$10,000) is 4.10% APY."): without them a tiered rate reads as the only one,
and the goldens that ask for the rate and its tier fail. Several spans (a
multi-part question, a comparison) give one sentence each, in the reader's
order, each followed by its `[n]`; a sentence already said is not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9£$€\"'(\[¿¡])")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
TEMPLATES = {
    "en": "The {column} for {row} is {value}.",
    "es": "{Column} para {row}: {value}.",
    "vi": "{Column} cho {row}: {value}.",
}
"""A table cell as a sentence, per language (the language list answers are detected among)."""


def table_cells(line: str) -> list[tuple[int, int]]:
    """(start, end) of each cell's text in a Markdown table line."""
    out, at = [], 0
    body = line.rstrip()
    if body.startswith("|"):
        at = 1
    for piece in body[at:].rstrip("|").split("|"):
        lead = len(piece) - len(piece.lstrip())
        out.append((at + lead, at + len(piece.rstrip())))
        at += len(piece) + 1
    return out


def _lower_first(word: str) -> str:
    """'Setup fee' -> 'setup fee', but 'APR' stays."""
    return word[:1].lower() + word[1:] if len(word) > 1 and not word[:2].isupper() else word


def sentence_of(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding [start, end) (list markers dropped), or the whole text."""
    at = 0
    for m in [*_SENTENCE.finditer(text), None]:
        stop = m.start() if m else len(text)
        if start < stop or m is None:
            return _BULLET.sub("", " ".join(text[at:stop].split())).strip()
        at = m.end()
    return " ".join(text.split())


def _terms(text: str) -> set[str]:
    from loopwright.corpus.index import tokenize
    from loopwright.text import strip_accents

    return set(tokenize(strip_accents(text)))


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def answer_cell(question: str, headers: Sequence[str], cells: Sequence[str], predicted: int) -> int:
    """The cell that answers: the one (past the row's name) whose header and text share the most terms with the
    question, the reader's own pick breaking ties; a cell holding a number the question states is what the
    question gives ("balances under $10,000"), not what it asks, and is passed over. The head places spans
    within a row poorly ("the limit for Fee reversal" for "what override code do agents use"), and a column is
    mostly asked for by name or by what it holds."""
    asked, given = _terms(question), _numbers(question)
    candidates = [k for k in range(1, len(cells)) if not _numbers(cells[k]) & given] or list(range(1, len(cells)))
    return max(candidates, key=lambda k: (len(asked & _terms(f"{headers[k]} {cells[k]}")), k == predicted))


def row_sentence(context: str, row: str, start: int, end: int, language: str, question: str = "") -> str:
    """A table cell as a sentence: its column header, the row's first cell and the cells between that qualify
    it, the value. With the `question`, the cell is `answer_cell`'s pick."""
    header_line = context.splitlines()[-1] if context and context.splitlines()[-1].lstrip().startswith("|") else ""
    cells = [row[a:b] for a, b in table_cells(row)]
    headers = [header_line[a:b] for a, b in table_cells(header_line)] if header_line else []
    hit = next((k for k, (a, b) in enumerate(table_cells(row)) if start < b and end > a), 1)
    if question and len(cells) >= 2 and len(headers) == len(cells):
        hit = answer_cell(question, headers, cells, hit)
    if len(cells) < 2 or len(headers) != len(cells) or hit == 0:
        # no header to say it with, or the row's own name was picked: the row, column by column
        pairs = [f"{h}: {c}" for h, c in zip(headers, cells)] if len(headers) == len(cells) else cells
        return "; ".join(pairs) + "."
    qualifiers = "; ".join(f"{_lower_first(headers[k])}: {cells[k]}" for k in range(1, hit) if cells[k])
    name = f"{cells[0]} ({qualifiers})" if qualifiers else cells[0]
    template = TEMPLATES.get(language, TEMPLATES["en"])
    return template.format(column=_lower_first(headers[hit]), Column=headers[hit], row=name, value=cells[hit])


def span_sentence(context: str, text: str, start: int, end: int, language: str, question: str) -> str:
    """One evidence span's answer: its table cell as a sentence, or its sentence holding [start, end)."""
    if text.lstrip().startswith("|"):
        return row_sentence(context, text, start, end, language, question)
    return sentence_of(text, start, end)


def compose(pieces: Sequence[tuple[int, str]]) -> tuple[str, list[int]]:
    """(answer text, cited numbers) from (evidence number, sentence) pairs in order: `sentence [n]` each, a
    sentence said once (a later span saying it again adds its number to the first)."""
    said: dict[str, list[int]] = {}
    for n, sentence in pieces:
        if sentence:
            said.setdefault(sentence, [])
            if n not in said[sentence]:
                said[sentence].append(n)
    text = " ".join(f"{sentence} [{', '.join(map(str, ns))}]" for sentence, ns in said.items())
    return text, [n for ns in said.values() for n in ns]
