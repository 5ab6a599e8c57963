"""The sample bank's reading examples and its reader: question, passage, answer span (or none).

Passages are the corpus's own minimal spans (sentences, list items, table rows,
from `loopwright.corpus.chunking`) with their context, as the gateway hands
them to the reader. Questions come from three places:

- the question bank (`questions.FAQ`): each paraphrase against the span of a
  cited document that holds its facts (simulator text: the demo asks these);
- table rows: "What is the {column} for {row}?" (and Spanish, Vietnamese), the
  cell as the answer;
- sentences with an amount, rate, duration or time: the sentence with that
  value replaced by a question word, and a terse keyword form of it;
- a reworded copy of each of these (`rewording`): synonyms the passage lacks,
  filler dropped, typed casually.

Unanswerable pairs put each question against two spans of the same document
that lack its answer, and against one span of another document; off-topic
questions (the decline list, `other` utterances) against random spans. Every
example's group is its passage's document family (a document and its
translations), the trainer's split key: no held-out passage, nor its
translation, is trained on. Unanswerable questions may also have been seen
with other passages.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from loopwright.corpus.chunking import chunk_document
from loopwright.corpus.documents import read_document
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.questions import DECLINE, FAQ
from loopwright.samples.bank.rewording import reword
from loopwright.serving.backends.reader import passage_text
from loopwright.serving.backends.reader_answer import table_cells
from loopwright.training.reader import Progress, ReaderConfig, ReadingExample, register_reader, train_reader

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.registry.receipts import Receipt
    from loopwright.training.cache import TrainedFolder
    from loopwright.workspace import Workspace

NAME = "reader"
REWORDINGS = 1
"""Reworded copies (`rewording.reword`) of each answerable question, each read against the same passages."""


@dataclass(frozen=True)
class Passage:
    doc_id: str
    language: str
    context: str
    text: str

    @property
    def family(self) -> str:
        """The document and its translations: `flexpay-2-0-es` -> `flexpay-2-0`."""
        return re.sub(r"-(es|vi)$", "", self.doc_id)

    @property
    def passage(self) -> str:
        return passage_text(self.context, self.text)

    @property
    def offset(self) -> int:
        """Where `text` starts in `passage`."""
        return len(self.passage) - len(self.text)


@lru_cache(maxsize=1)
def passages() -> tuple[Passage, ...]:
    """Every minimal span of the sample documents, with its context."""
    out = []
    for path in sorted((DATA_DIR / "docs").glob("*.md")):
        doc = read_document(path)
        for chunk in chunk_document(doc):
            for span in chunk.spans:
                out.append(Passage(doc.id, doc.meta.language, chunk.context, doc.text[span.start : span.end]))
    return tuple(out)


def _fact(fact: str) -> re.Pattern:
    """`fact` as a whole value: "$25" does not match inside "$25,000"."""
    return re.compile(rf"(?<![\w$]){re.escape(fact)}(?![\w]|[.,]\d)", re.IGNORECASE)


def _answerable(p: Passage, facts: tuple[str, ...]) -> tuple[int, int] | None:
    """The passage offsets spanning every fact, when the span's text holds them all."""
    found = [_fact(f).search(p.text) for f in facts]
    if not all(found):
        return None
    return p.offset + min(m.start() for m in found), p.offset + max(m.end() for m in found)


# -- questions from tables and sentences ----------------------------------------------------------

ROW_QUESTIONS = {
    "en": ("What is the {col} for {row}?", "{row} {col}?"),
    "es": ("¿Cuál es {col} para {row}?", "{row} {col}?"),
    "vi": ("{col} cho {row} là bao nhiêu?", "{row} {col}?"),
}
_VALUE = re.compile(
    r"\$[\d,]+(?:\.\d+)?|\d+(?:\.\d+)?%(?: APR| APY)?|\d+ (?:business |calendar )?(?:days|months|minutes|hours|ngày|días|tháng|meses)"
    r"|\d{1,2}(?::\d\d)? ?(?:am|pm)(?: Eastern)?"
)
WH = {
    "en": {"$": "how much", "%": "what rate", "d": "how long", "t": "what time"},
    "es": {"$": "cuánto", "%": "qué tasa", "d": "cuánto tiempo", "t": "a qué hora"},
    "vi": {"$": "bao nhiêu", "%": "lãi suất bao nhiêu", "d": "bao lâu", "t": "mấy giờ"},
}
_STOP = set("the a an of to in on for and or is are be by with at as it your you we our this that can from".split())


def _row_examples(p: Passage) -> list[tuple[str, tuple[int, int]]]:
    header = p.context.splitlines()[-1] if "\n" in p.context else ""
    if not header.lstrip().startswith("|"):
        return []
    cols, cells = [header[a:b] for a, b in table_cells(header)], table_cells(p.text)
    if len(cols) != len(cells) or len(cells) < 2:
        return []
    row = p.text[slice(*cells[0])]
    out = []
    for j in range(1, len(cells)):
        for template in ROW_QUESTIONS.get(p.language, ROW_QUESTIONS["en"]):
            question = template.format(col=cols[j].lower(), row=row)
            out.append((question[0].upper() + question[1:], (p.offset + cells[j][0], p.offset + cells[j][1])))
    return out


def _kind(value: str) -> str:
    if value.startswith("$"):
        return "$"
    if "%" in value:
        return "%"
    return "t" if re.search(r"am|pm", value) else "d"


def _sentence_examples(p: Passage, rng: random.Random) -> list[tuple[str, tuple[int, int]]]:
    if p.text.lstrip().startswith(("|", "#")):
        return []
    out = []
    for m in list(_VALUE.finditer(p.text))[:2]:
        wh = WH.get(p.language, WH["en"])[_kind(m.group())]
        cloze = " ".join((p.text[: m.start()] + wh + p.text[m.end() :]).split()).lstrip("-* ").rstrip(".") + "?"
        words = [w for w in re.findall(r"[^\W\d]+", p.text[: m.start()] + " " + p.text[m.end() :]) if w.lower() not in _STOP]
        terse = f"{wh} {' '.join(rng.sample(words, min(4, len(words))))}?".lower() if words else None
        answer = (p.offset + m.start(), p.offset + m.end())
        out += [(cloze, answer)] + ([(terse, answer)] if terse else [])
    return out


# -- the examples -----------------------------------------------------------------------------------


def _faq_examples(by_doc: dict[str, list[Passage]]) -> list[tuple[str, str, Passage, tuple[int, int]]]:
    out = []
    for q in FAQ:
        if not q.contain:
            continue
        for doc in q.cite:
            hits = [(p, a) for p in by_doc.get(doc, []) for a in [_answerable(p, q.contain)] if a is not None]
            for text in q.texts:
                out += [(text, q.language, p, a) for p, a in hits[:2]]
    return out


def _off_topic() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines() if line]
    questions = [(t, q.language) for q in DECLINE if q.intent == "other" for t in q.texts]
    return questions + [(r["text"], r["language"]) for r in rows if r["intent"] == "other"][:150]


def bank_examples(seed: int = 0, *, rewordings: int = REWORDINGS) -> list[ReadingExample]:
    """The sample's reading examples, in a fixed order (see the module notes); `rewordings` reworded copies of
    each answerable question (tests' tiny reader takes none: half the examples, half the training time)."""
    rng = random.Random(seed)
    every = passages()
    by_doc: dict[str, list[Passage]] = {}
    for p in every:
        by_doc.setdefault(p.doc_id, []).append(p)
    positives = [(q, p.language, p, a) for p in every for q, a in _row_examples(p) + _sentence_examples(p, rng)]
    positives += _faq_examples(by_doc)
    positives += [(reworded, language, p, answer) for question, language, p, answer in positives for _ in range(rewordings)
                  for reworded in [reword(question, language, rng)] if reworded != question]
    examples = []
    for question, language, p, answer in positives:
        examples.append(ReadingExample(question, p.passage, answer, p.family, language))
        answer_text = p.passage[slice(*answer)]
        same = [o for o in by_doc[p.doc_id] if not _fact(answer_text).search(o.text)]
        other = [o for o in every if o.family != p.family]
        for o in rng.sample(same, min(2, len(same))) + [rng.choice(other)]:
            examples.append(ReadingExample(question, o.passage, None, o.family, language))
    for question, language in _off_topic():
        o = rng.choice(every)
        examples.append(ReadingExample(question, o.passage, None, o.family, language))
    return examples


# -- the artifact -----------------------------------------------------------------------------------

PROVENANCE = {
    "licence": "CC0-1.0 (synthetic sample data)",
    "consent": "synthetic: no real persons",
    "sensitivity": "internal",
    "creator": "loopwright.samples.bank.reading",
}


@dataclass(frozen=True)
class ReaderResult:
    """The sample reader registered in a workspace, and how it was made."""

    artifact: Artifact
    trained: TrainedFolder
    metrics: dict[str, Any]
    deploy_receipt: Receipt | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact.ref, "digest": self.artifact.digest, "cache_hit": self.trained.cache_hit,
                "seconds": round(self.trained.seconds, 3), "metrics": self.metrics,
                "deployed": self.deploy_receipt is not None}


def register_sample_reader(ws: Workspace, config: ReaderConfig | None = None, *, deploy: bool = False,
                           progress: Progress | None = None, use_cache: bool = True) -> ReaderResult:
    """Train (or take from the cache) the sample reader and register it as `model/reader`; with `deploy`, put it
    live on `model:reader` (the sample's initial deployment) unless it already is."""
    trained = train_reader(bank_examples(), config, progress=progress, use_cache=use_cache)
    provenance = {**PROVENANCE, "source": "trained by loopwright.training.reader on the Larkspur Bank documents"}
    artifact, receipt = register_reader(ws, trained, NAME, provenance=provenance, deploy=deploy)
    metrics = json.loads((trained.folder / "metrics.json").read_text("utf-8"))
    return ReaderResult(artifact, trained, metrics, receipt)
