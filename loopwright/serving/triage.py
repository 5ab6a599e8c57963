"""Triage on the request path: the intent classifier and its calibrated confidence.

    text -> all-MiniLM-L6-v2 vector (loopwright.embedding)   # (384,)
         -> logits = W x + b                                 # (K,) logistic-regression head
         -> softmax(logits / T)                              # T: temperature, fitted on validation NLL

The head is fitted by `loopwright.training.triage` into a `model/triage`
artifact (`head.json`: weights, classes, temperature; plain JSON, never a
pickle); this module loads one, verified, and predicts with it. An adapter on
slot `adapter:triage` (`loopwright.serving.triage_adapter`) is served as an
`AdaptedTriage`: the same encoder with LoRA branches for that call, and its own head. A model trained by
`loopwright train` (classification) carries its own fine-tuned encoder and is served as an `EncodedTriage`
(`loopwright.serving.triage_encoder`), through the same `TriageModel.load`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.embedding import DIM, MODEL_NAME, Embedder, LoraDelta, adapted_query_vector, get_embedder
from loopwright.errors import ConfigError, IntegrityError, InvalidInput, NotFound
from loopwright.registry.artifacts import Artifact, read_file, resolve
from loopwright.registry.deployment import get_deployment
from loopwright.registry.digest_cache import DigestCache
from loopwright.serving.triage_encoder import is_encoder_triage, load_encoded

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

SLOT = "model:triage"
NAME = "triage"
HEAD_FORMAT = "loopwright.triage.head/1"
# The model reads at most 256 tokens; 4,096 characters hold those for any ordinary
# text and keep tokenizing a 10 MB message from costing seconds.
MAX_CHARS = 4096


def clean_text(text: Any) -> str:
    """The text the embedder sees: whitespace runs collapsed (the tokenizer ignores them), capped at MAX_CHARS."""
    if not isinstance(text, str):
        raise InvalidInput(f"triage takes text, got {type(text).__name__}")
    # Collapse a bounded prefix only, so a 10 MB message costs no more than a short one.
    cleaned = " ".join(text[: 4 * MAX_CHARS].split()) or " ".join(text.split())
    if not cleaned:
        raise InvalidInput("triage text is empty or only whitespace", hint="send the customer's message text")
    return cleaned[:MAX_CHARS]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class TriageResult:
    """One text's triage: the intent, its calibrated probability, the top three and the top-two gap."""

    intent: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    margin: float

    @property
    def runner_up(self) -> str | None:
        return self.top[1][0] if len(self.top) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "margin": self.margin,
            "top": [{"intent": i, "probability": p} for i, p in self.top],
        }


@dataclass(frozen=True)
class Triaged:
    """One request's triage (`TriageModel.triage_one`)."""

    result: TriageResult
    cached: bool  # its vector came from a cache, not the encoder
    query_vector: np.ndarray | None  # the shared embedder's exact vector of the text, for retrieval; None if not made


@dataclass
class TriageModel:
    """A loaded triage head; `predict` embeds with the process-wide embedder. Thread-safe."""

    artifact: Artifact
    classes: list[str]
    coef: np.ndarray  # (K, 384)
    intercept: np.ndarray  # (K,)
    temperature: float
    embedder_id: str
    _embedder: Embedder | None = field(default=None, repr=False)

    @classmethod
    def load(cls, ws: Workspace, artifact: Artifact | str) -> TriageModel:
        """Load `artifact` (or a ref to one); its head.json is verified against its digest."""
        if isinstance(artifact, str):
            artifact = resolve(ws, artifact, kind="model")
        if is_encoder_triage(artifact):
            h = load_encoded(ws, artifact)
            return EncodedTriage(artifact, h.classes, h.coef, h.intercept, h.temperature, f"{artifact.ref}:encoder", encoder=h.encoder)
        return cls.from_head(artifact, read_file(ws, artifact, "head.json"))

    @classmethod
    def from_head(cls, artifact: Artifact, raw: bytes, **extra: Any) -> TriageModel:
        """A model from the bytes of a head.json (a base's, or an adapter's retrained head) held by `artifact`."""
        try:
            doc = json.loads(raw)
            if doc["format"] != HEAD_FORMAT:
                raise ValueError(f"format {doc['format']!r}")
            classes = [str(c) for c in doc["classes"]]
            coef = np.asarray(doc["coef"], dtype=np.float32)
            intercept = np.asarray(doc["intercept"], dtype=np.float32)
            temperature = float(doc["temperature"])
            embedder_id = str(doc["embedder"])
            k = len(classes)
            if coef.ndim != 2 or coef.shape[0] != k or intercept.shape != (k,) or not temperature > 0:
                raise ValueError(f"shapes {coef.shape} and {intercept.shape} for {len(classes)} classes")
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{artifact.ref} head.json is not a triage head ({exc})") from None
        # bf16 and float32 vectors agree to a cosine of 0.99996, so only the model must match, not the dtype.
        if not embedder_id.startswith(MODEL_NAME) or coef.shape[1] != DIM:
            raise ConfigError(
                f"{artifact.ref} was fitted on {embedder_id} vectors of {coef.shape[1]} dimensions; "
                f"this process embeds with {MODEL_NAME} ({DIM})",
                hint="fit it again with `loopwright triage fit`",
            )
        return cls(artifact, classes, coef, intercept, temperature, embedder_id, **extra)

    @classmethod
    def deployed(cls, ws: Workspace, channel: str = "stable") -> TriageModel:
        """The model live on slot `model:triage` (stable, or its canary)."""
        state = get_deployment(ws).slots.get(SLOT)
        artifact = (state.canary if channel == "canary" else state.stable) if state else None
        if artifact is None:
            raise NotFound(f"no model on slot {SLOT} ({channel})", hint="run `loopwright triage fit`")
        return cls.load(ws, artifact)

    def _embed(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def predict(self, texts: Sequence[str]) -> list[TriageResult]:
        """Triage each text. One text takes the embedder's single-query path (and its cache)."""
        if isinstance(texts, str):
            raise InvalidInput("predict takes a list of texts, not one string", hint="wrap it: predict([text])")
        cleaned = [clean_text(t) for t in texts]
        if not cleaned:
            return []
        return self.predict_vectors(self._vectors(cleaned))

    def _vectors(self, cleaned: list[str]) -> np.ndarray:
        embedder = self._embed()
        return embedder.encode_query(cleaned[0])[None, :] if len(cleaned) == 1 else embedder.encode(cleaned)

    def triage_one(self, text: str) -> Triaged:
        """Triage one text (a request), tokenised once; its vector goes on to retrieval, which embeds the same
        question with the same encoder (unless the text was cut to MAX_CHARS, and so is not the question)."""
        cleaned = clean_text(text)
        vector, cached = self._embed().query_vector(cleaned)
        whole = cleaned == " ".join(text.split())  # what retrieval embeds
        return Triaged(self.predict_vectors(vector[None, :])[0], cached, vector if whole else None)

    def predict_vectors(self, vectors: np.ndarray) -> list[TriageResult]:
        """Triage (N, 384) query vectors already made by the embedder (retrieval embeds the same query)."""
        probs = softmax((vectors @ self.coef.T + self.intercept) / self.temperature)  # (N, K)
        k = min(3, len(self.classes))
        order = np.argsort(-probs, axis=1)[:, :k]
        out = []
        for row, idx in zip(probs, order, strict=True):
            top = tuple((self.classes[i], float(row[i])) for i in idx)
            margin = top[0][1] - (top[1][1] if k > 1 else 0.0)
            out.append(TriageResult(top[0][0], top[0][1], top, margin))
        return out


@dataclass
class AdaptedTriage(TriageModel):
    """A triage adapter served: its own head over the shared encoder with the adapter's LoRA branches.

    `artifact` is the adapter; `base` the `model/triage` head it was trained from and
    is served beside (the same encoder serves retrieval and every channel unchanged).
    """

    base: TriageModel | None = None
    lora: LoraDelta | None = field(default=None, repr=False)

    def _vectors(self, cleaned: list[str]) -> np.ndarray:
        return self._embed().encode_adapted(cleaned, self.lora)

    def triage_one(self, text: str) -> Triaged:
        """The adapted vector is this channel's own; retrieval reads the base one (`_adapted_one` caches it)."""
        vector, cached = adapted_query_vector(self._embed(), self.lora, clean_text(text))
        return Triaged(self.predict_vectors(vector[None, :])[0], cached, None)


@dataclass
class EncodedTriage(TriageModel):
    """A triage model with its own fine-tuned encoder: its head reads that encoder's pooled states, not MiniLM's."""

    encoder: Any = field(default=None, repr=False)

    def _vectors(self, cleaned: list[str]) -> np.ndarray:
        return self.encoder.pooled(cleaned)

    def triage_one(self, text: str) -> Triaged:
        return Triaged(self.predict([text])[0], False, None)  # its own encoder keeps no vector cache

    def predict_vectors(self, vectors: np.ndarray) -> list[TriageResult]:
        """(N, H) pooled states of this model's own encoder (`encoder.pooled`), not the shared embedder's vectors."""
        if vectors.ndim != 2 or vectors.shape[1] != self.coef.shape[1]:
            raise InvalidInput(f"{self.artifact.ref} reads its own encoder's {self.coef.shape[1]}-dimensional states, "
                               f"not vectors of shape {vectors.shape}", hint="call predict(texts)")
        return super().predict_vectors(vectors)


_warm: DigestCache[TriageModel] = DigestCache(limit=8)  # heads are ~200 KB; a few releases' worth stay warm


def warm_model(ws: Workspace, artifact: Artifact) -> TriageModel:
    """`TriageModel.load`, kept by digest so switching back to a loaded model is a dict lookup."""
    return _warm.get(artifact.digest, lambda: TriageModel.load(ws, artifact))
