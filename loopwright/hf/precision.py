"""Which float dtype to run a model in: measured once per process and shape, never assumed from CPU flags.

Whether bfloat16 beats float32 on a CPU depends on the CPU, its libraries and
the size of the matmuls, not on a flag in /proc/cpuinfo. On this project's
2-core AMD EPYC (which advertises AVX512-BF16), one Linear of width w (w -> 4w),
least CPU time of 20 runs on one thread:

    width 384, 32 rows   fp32 428 us   bf16 226 us    (MiniLM, batched: bf16 1.9x faster)
    width 256,  1 row    fp32  30 us   bf16  45 us    (the sample LM decoding: fp32 wins)
    width 256, 16 rows   fp32 121 us   bf16  78 us
    width 2048, 1 row    fp32 3.5 ms   bf16 2.6 ms

and another host of the same family measured bf16 4-8x slower at every shape. So
`fast_dtype` times one Linear of the model's own width, at the rows it will
mostly see, in both dtypes (a few ms, once per process and shape) and picks
bfloat16 only when it is clearly faster. It counts one thread's CPU time, not
wall time, so a loaded machine cannot flip the choice between processes (and
with it every cache keyed by the dtype). An environment variable set to `float32` or `bfloat16`
skips the measurement.
"""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache

from loopwright.errors import ConfigError

logger = logging.getLogger(__name__)

DTYPES = ("float32", "bfloat16")
ENV = "LOOPWRIGHT_DTYPE"
# bf16 must beat fp32 by this factor: a marginal win is not worth its rounding, nor a choice that flips with noise.
_MARGIN = 0.8


def _best_seconds(layer, x, repeats: int) -> float:
    """The least CPU time of `repeats` runs of `layer(x)` on one thread.

    Wall time on a loaded machine measures the load: two processes on the same
    host then pick different dtypes, and every cache keyed by the dtype splits.
    One thread's CPU time (`time.thread_time`) counts only this work, so the
    thread pool is narrowed to one for the measurement and restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            layer(x)  # warm-up: kernel selection, allocator
            times = []
            for _ in range(repeats):
                started = time.thread_time()
                layer(x)
                times.append(time.thread_time() - started)
    finally:
        torch.set_num_threads(threads)
    return min(times)


@lru_cache(maxsize=16)
def measured_dtype(width: int = 384, rows: int = 32) -> str:
    """`bfloat16` when a (rows, width) @ (width, 4 * width) Linear runs clearly faster in it than in float32 here."""
    import torch

    torch.manual_seed(0)
    layer = torch.nn.Linear(width, 4 * width)
    x = torch.randn(rows, width)
    fp32 = _best_seconds(layer, x, 20)
    bf16 = _best_seconds(layer.to(torch.bfloat16), x.to(torch.bfloat16), 20)
    choice = "bfloat16" if bf16 < _MARGIN * fp32 else "float32"
    logger.info("dtype at width %d, %d rows: float32 %.1f us, bfloat16 %.1f us -> %s", width, rows, fp32 * 1e6, bf16 * 1e6, choice)
    return choice


def fast_dtype(env: str = ENV, *, width: int = 384, rows: int = 32) -> str:
    """The dtype named by `$env` (`float32`, `bfloat16`), else (`auto` or unset) the one measured faster
    for a model of hidden size `width` fed `rows` rows at a time (1 for decoding, a batch for an encoder)."""
    wanted = os.environ.get(env, "auto").strip().lower()
    if wanted in DTYPES:
        return wanted
    if wanted != "auto":
        raise ConfigError(f"{env}={wanted!r} is not one of auto, {', '.join(DTYPES)}")
    return measured_dtype(width, rows)
