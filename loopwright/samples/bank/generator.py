"""The sample's generator: a small causal LM trained here to answer from numbered evidence, copy and cite.

Training pairs are built the way the gateway serves: each question goes through
the workspace's real retriever (the deployed corpus and policy, the sample's
reference date), the spans it returns are rendered by the deployed prompt bundle
as `[1] ... [5]`, and the answer is the span(s) holding the question's facts,
copied, each followed by its number: `FlexPay 2.0 has a late fee of $15 per
missed installment. [2]`.

The questions: the question bank's paraphrases as the simulator sends them
(a greeting, a typo: never a golden's exact text, since goldens judge
releases), and, for breadth, every fact-bearing span of the documents asked by
its section heading. The split is by document family (a document and its
translations): held-out families' questions are never trained on and their
spans never appear in a training prompt, so `heldout_items` measures copying
from text the model has never seen (`bench/bench_generator.py`).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopwright.samples.bank import REFERENCE_DATE
from loopwright.samples.bank.noise import perturb
from loopwright.samples.bank.questions import FAQ, RETAIL, Question
from loopwright.training.generator import GeneratorConfig, Messages, train_generator

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.training.cache import TrainedFolder
    from loopwright.workspace import Workspace

NAME = "bank-generator"
SLOT = "model:large"
# Families whose questions and spans no training prompt holds: four topics with question-bank paraphrases
# in two or three languages, picked before the first training run and never changed after it.
HELDOUT = ("disputes", "wire-transfers", "branch-hours", "lost-stolen-cards")
EVIDENCE_K = 5  # as the gateway retrieves
VARIANTS = 6  # simulator-style rewrites of each question-bank paraphrase
_FAMILY = re.compile(r"-(es|vi)$")
_FACT = re.compile(r"\d|\b(no|not|only|never|free|instant)\b", re.IGNORECASE)


def family(doc_id: str) -> str:
    """A document and its translations share a family: `flexpay-2-0-es` -> `flexpay-2-0`."""
    return _FAMILY.sub("", doc_id)


def heldout_family(doc_id: str) -> bool:
    """Whether `doc_id`'s family is in the held-out split (HELDOUT: fixed before any training run)."""
    return family(doc_id) in HELDOUT


def answer_text(span_text: str) -> str:
    """A span as an answer sentence: a sentence as it is, a table row's cells as `First: second, third.`
    (the row's own words, so it stays grounded; `| Domestic | $25 |` -> `Domestic: $25.`)."""
    text = " ".join(span_text.split())
    if text.startswith("|"):
        cells = [c.strip() for c in text.strip("|").split("|") if c.strip()]
        return f"{cells[0]}: {', '.join(cells[1:])}." if len(cells) > 1 else f"{cells[0]}." if cells else text
    return text.lstrip("-* ")


@dataclass(frozen=True)
class Item:
    """One question with its retrieved evidence, rendered as the gateway would, and what an answer must state."""

    question: str
    language: str
    contain: tuple[str, ...]
    cite: tuple[str, ...]
    evidence: tuple[Any, ...]  # loopwright.corpus.retrieval.Span, in rank order: [1] is the first
    messages: Messages  # system and user turns as rendered
    answer: str | None  # the copy-and-cite answer, or None when no retrieved span holds the facts

    def example(self) -> Messages:
        return [*self.messages, {"role": "assistant", "content": self.answer}]


class _Renderer:
    """The workspace's deployed retriever, policy and prompt bundle, as the gateway uses them."""

    def __init__(self, ws: Workspace):
        from loopwright.corpus.retrieval import Retriever
        from loopwright.policy.loader import deployed_policy
        from loopwright.registry.deployment import get_deployment
        from loopwright.serving.prompts import PromptBundle

        deployment = get_deployment(ws)
        self.corpus = deployment.stable("corpus")
        self.prompt = PromptBundle.load(ws, deployment.stable("prompt"))
        self.rules = deployed_policy(ws).retrieval
        self.retriever = Retriever(ws)

    def item(self, question: str, language: str, contain: tuple[str, ...], cite: tuple[str, ...], *,
             keep=lambda span: True, target=None) -> Item:
        spans = self.retriever.search(question, commit=self.corpus.digest, tenant=RETAIL, rules=self.rules,
                                      k=EVIDENCE_K, as_of=REFERENCE_DATE).spans
        spans = [s for s in spans if keep(s)]
        if target is None:
            answer = copy_answer(spans, contain)
        else:  # the span asked about is among the evidence, where retrieval put it or at a place the text picks
            at = next((n for n, s in enumerate(spans) if (s.doc_id, s.start) == (target.doc_id, target.start)), None)
            if at is None:
                spans = spans[: EVIDENCE_K - 1]
                at = int(hashlib.sha256(question.encode()).hexdigest(), 16) % (len(spans) + 1)
                spans.insert(at, target)
            answer = f"{answer_text(target.text)} [{at + 1}]"
        messages = self.prompt.render(question, [s.text for s in spans])
        return Item(question, language, contain, cite, tuple(spans), messages, answer)


def copy_answer(spans, contain: tuple[str, ...]) -> str | None:
    """The fewest top-ranked spans (at most two) that hold every fact, each copied and cited: `Text. [n]`."""
    wanted = [c.casefold() for c in contain]
    for n, span in enumerate(spans, 1):
        if all(c in span.text.casefold() for c in wanted):
            return f"{answer_text(span.text)} [{n}]"
    for n, first in enumerate(spans, 1):
        rest = [c for c in wanted if c not in first.text.casefold()]
        if len(rest) == len(wanted):
            continue
        for m, second in enumerate(spans, 1):
            if m != n and all(c in second.text.casefold() for c in rest):
                a, b = sorted([(n, first), (m, second)], key=lambda p: p[0])
                return f"{answer_text(a[1].text)} [{a[0]}] {answer_text(b[1].text)} [{b[0]}]"
    return None


def _answerable(q: Question) -> bool:
    return bool(q.contain) and bool(q.cite) and not q.decline and q.tenant == RETAIL


def training_items(ws: Workspace, seed: int = 0) -> list[Item]:
    """Copy-and-cite examples from the training families only (see the module notes)."""
    from loopwright.release.goldens import load_suite

    r = _Renderer(ws)
    rng = random.Random(seed)
    goldens = {g.input for g in load_suite(ws)[1]}
    keep = lambda span: not heldout_family(span.doc_id)  # noqa: E731 (a held-out span is never shown)
    items = []
    for q in FAQ:
        if not _answerable(q) or any(heldout_family(d) for d in q.cite):
            continue
        for text in q.texts:
            for _ in range(VARIANTS):
                variant = perturb(text, rng, q.language) if rng.random() < 0.7 else text
                if variant in goldens:
                    variant = f"{variant} {rng.choice(['Thanks!', 'please', 'Gracias.', 'Cảm ơn.'][:2 if q.language == 'en' else 4])}"
                items.append(r.item(variant, q.language, q.contain, q.cite, keep=keep))
    for span, heading in _fact_spans(ws, r.corpus):
        items.append(r.item(f"{heading}?", "en", (), (span.doc_id,), keep=keep, target=span))
    return [i for i in items if i.answer is not None]


def _fact_spans(ws: Workspace, corpus: Artifact):
    """(span, its heading) for each fact-bearing minimal span of the training families' customer documents."""
    from loopwright.corpus.chunking import chunk_document
    from loopwright.corpus.commits import commit_of, parsed_documents
    from loopwright.corpus.retrieval import Span

    for meta, parsed in parsed_documents(ws, commit_of(ws, corpus).documents):
        if heldout_family(meta.id) or "retail" not in meta.audience:
            continue
        for chunk in chunk_document(parsed):
            for s in chunk.spans:
                text = parsed.text[s.start : s.end]
                if _FACT.search(text) and len(text.split()) >= 5:
                    yield (Span(meta.id, meta.title, corpus.digest, chunk.id, 0, s.start, s.end, s.kind, text,
                                chunk.context, 0.0, 0.0), chunk.context.split("\n")[0].split(" > ")[-1])


def heldout_items(ws: Workspace) -> list[Item]:
    """The held-out families' question-bank paraphrases, exactly as written, with the gateway's evidence."""
    r = _Renderer(ws)
    return [r.item(text, q.language, q.contain, q.cite) for q in FAQ if _answerable(q)
            and all(heldout_family(d) for d in q.cite) for text in q.texts]


def train_sample_generator(ws: Workspace, config: GeneratorConfig | None = None, *, progress=None) -> TrainedFolder:
    """Train the sample's generator on `training_items` (or take it from the cache)."""
    config = config or GeneratorConfig()
    examples = [i.example() for i in training_items(ws, config.seed) if i.answer is not None]
    return train_generator(examples, config, progress=progress)


def register_sample_generator(ws: Workspace, config: GeneratorConfig | None = None, *, progress=None) -> tuple[Artifact, TrainedFolder]:
    """Train (or take from the cache) the sample's generator and register it as `model/bank-generator`."""
    from loopwright.hf.checkpoint import register_checkpoint
    from loopwright.samples.bank.lm import PROVENANCE

    trained = train_sample_generator(ws, config, progress=progress)
    report = trained.report()
    artifact = register_checkpoint(
        ws, trained.folder, NAME, task="causal-lm",
        provenance={**PROVENANCE, "source": "trained by loopwright.samples.bank.generator on retrieved sample evidence"},
        extra_config={"training": report["config"], "examples": report["examples"]},
        compute_s=trained.compute_s,
    )
    return artifact, trained
