"""Triage models that carry their own fine-tuned encoder (`loopwright train`, classification objective).

    text -> the artifact's tokenizer and encoder          # encoder/: a Hugging Face folder, safetensors only
         -> mean pool over unpadded tokens                 # (N, H), as it was trained
         -> softmax((W v + b) / T)                         # head.json: W (K, H), b (K,), T fitted on validation

A `model` artifact whose config format is `ENCODER_FORMAT` loads as an
`EncodedTriage` through the same `TriageModel.load`, so the gateway, `loopwright
eval` and the release plane take it unchanged. Retrieval keeps the process-wide
embedder: this encoder serves triage only. An adapter cannot apply to it (its
LoRA matrices are bound to the packaged MiniLM head they were trained from).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.errors import IntegrityError

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

ENCODER_FORMAT = "loopwright.triage.encoder/1"
ENCODER_DIR = "encoder"


def is_encoder_triage(artifact: Artifact) -> bool:
    """Whether `artifact` is a triage model with its own encoder."""
    return artifact.config.get("format") == ENCODER_FORMAT


@dataclass
class Encoder:
    """A loaded tokenizer and encoder; one forward at a time (the tokenizer and torch threads are shared)."""

    tokenizer: Any
    model: Any
    max_length: int
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pooled(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(N, H) float32 mean-pooled states."""
        import torch

        out = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer(texts[start : start + batch_size], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
                hidden = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).float().numpy())
        return np.concatenate(out)


@dataclass(frozen=True)
class EncodedHead:
    """A loaded encoder triage model's parts; `loopwright.serving.triage` makes the `EncodedTriage` from them."""

    classes: list[str]
    coef: np.ndarray  # (K, H)
    intercept: np.ndarray  # (K,)
    temperature: float
    encoder: Encoder


def load_encoded(ws: Workspace, artifact: Artifact) -> EncodedHead:
    """The artifact's head and encoder, verified (every file is read through the blob store's digest check)."""
    from loopwright.registry.artifacts import materialize, read_file

    try:
        doc = json.loads(read_file(ws, artifact, "head.json"))
        if doc["format"] != ENCODER_FORMAT:
            raise ValueError(f"format {doc['format']!r}")
        classes = [str(c) for c in doc["classes"]]
        coef = np.asarray(doc["coef"], dtype=np.float32)
        intercept = np.asarray(doc["intercept"], dtype=np.float32)
        temperature = float(doc["temperature"])
        if coef.ndim != 2 or coef.shape[0] != len(classes) or intercept.shape != (len(classes),) or not temperature > 0:
            raise ValueError(f"shapes {coef.shape} and {intercept.shape} for {len(classes)} classes")
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"{artifact.ref} head.json is not a triage encoder head ({exc})") from None
    folder = materialize(ws, artifact) / ENCODER_DIR
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the pooler is left out on purpose: its "missing weights" report is noise
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True, use_safetensors=True, dtype=torch.float32).eval()
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # trained without it (mean pooling): loaded fresh, never read
    except (OSError, ValueError) as exc:
        raise IntegrityError(f"{artifact.ref} encoder does not load: {str(exc).splitlines()[0][:120]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if model.config.hidden_size != coef.shape[1]:
        raise IntegrityError(f"{artifact.ref} head is over {coef.shape[1]} dimensions, its encoder makes {model.config.hidden_size}")
    return EncodedHead(classes, coef, intercept, temperature, Encoder(tokenizer, model, int(doc.get("max_length", 128))))
