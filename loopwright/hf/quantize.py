"""int8 quantisation of a model's Linear layers, and how many bytes its weights take.

The API is torchao's `quantize_` (torch's own `torch.ao.quantization.quantize_dynamic`
is deprecated in torch 2.13 in its favour). Of its int8 configs, measured on this
project's 2-core CPU in eager mode with decode-sized inputs (1 to 16 rows; a
256 -> 704 -> 256 MLP, best of 3 x 300 calls; bench/bench_hf_quant.py times the
same at the sample LM's shapes):

    fp32                                   0.03 ms (1 row)   0.10 ms (16 rows)
    Int8WeightOnlyConfig                   0.08              0.15    max |err| 0.004
    Int8DynamicActivationInt8WeightConfig  0.26              0.29    max |err| 0.010
    Int8DynamicActivationIntxWeightConfig  0.29              0.38    (int8 weights, per channel)
    torch.ao quantize_dynamic (deprecated) 0.03              0.05    max |err| 0.020

torchao ships no CPU int8 matmul kernels in this build, so every config runs its
int8 weights through Python-level tensor subclasses and is slower than fp32 here;
what it buys on CPU is weights ~4x smaller. Weight-only int8 is the fastest and
the most accurate of them (activations stay float), so it is the default
`scheme`; `dynamic` (int8 activations too) is kept for hardware where torchao has
int8 kernels. Works on causal LMs and encoders alike (any module with Linears).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loopwright.errors import ConfigError, InvalidInput

SCHEMES = ("weight-only", "dynamic")
# Loggers that speak when torchao is imported: its CUDA-only extensions, torch's pytree notices.
IMPORT_NOISE = ("torchao", "torch.utils._pytree")
_INSTALL_HINT = "pip install torchao"


@contextmanager
def _quiet_import() -> Iterator[None]:
    """Importing torchao (as transformers and peft do) logs a warning per CUDA-only extension it cannot
    load, and torch's pytree a deprecation per enum it registers: noise for a CLI user, so those loggers
    are raised to ERROR meanwhile."""
    saved = {n: logging.getLogger(n).level for n in IMPORT_NOISE}
    for n in IMPORT_NOISE:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


def _torchao() -> Any:
    try:
        with _quiet_import():
            import torchao.quantization as q
    except ImportError:
        raise ConfigError("int8 quantisation needs torchao, which is not installed", hint=_INSTALL_HINT) from None
    return q


def preload_torchao() -> None:
    """Import torchao now, quietly, with the parts transformers imports when it loads any model
    (its torchao integration), so that transformers and peft find them loaded and log nothing."""
    try:
        with _quiet_import():
            import torchao.prototype.safetensors.safetensors_support  # noqa: F401
            import torchao.quantization  # noqa: F401
    except ImportError:
        pass  # not installed, or another version's layout: at worst the warnings show


def quantize_int8(model: Any, scheme: str = "weight-only") -> Any:
    """Quantise every Linear of `model` (in place) to int8 per output channel; returns `model`.

    `scheme`: `weight-only` (int8 weights, float activations) or `dynamic`
    (activations quantised per token at run time as well). Float32 models only.
    """
    import torch

    if scheme not in SCHEMES:
        raise InvalidInput(f"unknown int8 scheme {scheme!r}", hint=f"one of: {', '.join(SCHEMES)}")
    dtypes = {p.dtype for p in model.parameters()}
    if dtypes != {torch.float32}:
        raise InvalidInput(f"int8 quantisation takes a float32 model, not {sorted(map(str, dtypes))}")
    q = _torchao()
    config = q.Int8WeightOnlyConfig() if scheme == "weight-only" else q.Int8DynamicActivationInt8WeightConfig()
    q.quantize_(model, config)  # filter: nn.Linear modules only (torchao's default)
    return model


def tensor_bytes(tensor: Any) -> int:
    """Bytes a tensor holds; a quantised tensor subclass counts its int8 data and its scales."""
    if hasattr(tensor, "__tensor_flatten__"):
        names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, n)) for n in names)
    return tensor.numel() * tensor.element_size()


def weight_bytes(model: Any) -> int:
    """Bytes of all parameters and buffers: what the weights take in memory (and, near enough, on disk)."""
    seen: set[int] = set()
    total = 0
    for t in [*model.parameters(), *model.buffers()]:
        if id(t) not in seen:  # tied weights (embeddings and the LM head) count once
            seen.add(id(t))
            total += tensor_bytes(t)
    return total


def is_quantized(model: Any) -> bool:
    """Whether any Linear weight of `model` is a quantised tensor subclass (torchao's are)."""
    import torch

    return any(isinstance(m, torch.nn.Linear) and hasattr(m.weight, "__tensor_flatten__") for m in model.modules())
