"""Triage benchmark: held-out accuracy and calibration per language, fit time, per-call latency.

    python bench/bench_triage.py [--n 300] [--seed 0]

Fits on the sample bank in a throwaway workspace with a cold cache (then once
more from the cache), and times `TriageModel.predict` on one short text at a
time, as the gateway calls it: distinct texts (each one embedded) and a
repeated text (the embedder's query cache). Writes bench/results/triage.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "triage.json"


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": len(ms), "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "mean_ms": float(ms.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="single-text predict calls to time")
    parser.add_argument("--seed", type=int, default=0, help="split seed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-triage-") as tmp:
        os.environ["LOOPWRIGHT_CACHE_DIR"] = str(Path(tmp) / "cache")  # cold: the first fit really fits
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
        from loopwright.embedding import get_embedder
        from loopwright.samples.bank import DATA_DIR
        from loopwright.samples.bank.install import install_sample
        from loopwright.serving.triage import TriageModel
        from loopwright.training.triage import TriageConfig, fit_triage
        from loopwright.workspace import init_workspace

        started = time.perf_counter()
        embedder = get_embedder()
        load_s = time.perf_counter() - started
        ws = init_workspace(Path(tmp) / "ws")
        install_sample(ws)
        # Wall time of the whole call (registration included); the embedder is already loaded.
        t0 = time.perf_counter()
        fitted = fit_triage(ws, config=TriageConfig(seed=args.seed))
        fresh_s = time.perf_counter() - t0
        other = init_workspace(Path(tmp) / "ws2")
        install_sample(other)
        t0 = time.perf_counter()
        cached = fit_triage(other, config=TriageConfig(seed=args.seed))
        cached_s = time.perf_counter() - t0
        assert cached.cache_hit and cached.artifact.digest == fitted.artifact.digest

        model = TriageModel.load(ws, fitted.artifact)
        rows = [json.loads(line) for line in (DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines() if line]
        short = sorted({r["text"] for r in rows}, key=len)[: args.n + 20]  # the shortest: chat-sized messages
        for text in short[:20]:  # warm-up: allocator, thread pools
            model.predict([text])
        distinct, repeated, head_only = [], [], []
        vector = embedder.encode_query(short[0])[None, :]
        for text in short[20:]:
            t0 = time.perf_counter()
            model.predict([text])
            distinct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict([short[0]])
            repeated.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.predict_vectors(vector)
            head_only.append(time.perf_counter() - t0)
        batch = [r["text"] for r in rows[:256]]
        t0 = time.perf_counter()
        model.predict(batch)
        batch_s = time.perf_counter() - t0
        ws.close()
        other.close()

    m = fitted.metrics
    result = {
        "benchmark": "triage",
        "command": "python bench/bench_triage.py " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],  # the machine is shared: read latencies against this
            "python": platform.python_version(),
            "embedder": embedder.key,
        },
        "artifact": {"digest": fitted.artifact.digest, "temperature": m["temperature"], "sizes": m["sizes"]},
        "accuracy_ece": {
            lang: {k: s[k] for k in ("n", "accuracy", "ece_uncalibrated", "ece", "nll_uncalibrated", "nll")}
            for lang, s in [*sorted(m["by_language"].items()), ("all", m["overall"])]
        },
        "fit": {
            "embedder_load_s": load_s,
            "fresh_fit_s": fresh_s,
            "cached_s": cached_s,
            "cached_speedup": fresh_s / cached_s,
        },
        "predict_one_short_text": {
            "distinct_texts": _percentiles(distinct),
            "repeated_text": _percentiles(repeated),
            "head_only": _percentiles(head_only),
            "mean_chars": float(np.mean([len(t) for t in short[20:]])),
        },
        "predict_batch_256": {"seconds": batch_s, "texts_per_s": len(batch) / batch_s},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", "utf-8")

    print(f"{'language':<9}{'n':>5}{'accuracy':>10}{'ECE T=1':>10}{'ECE T=%.2f' % m['temperature']:>12}")
    for lang, s in result["accuracy_ece"].items():
        print(f"{lang:<9}{s['n']:>5}{s['accuracy']:>10.3f}{s['ece_uncalibrated']:>10.3f}{s['ece']:>12.3f}")
    f, p = result["fit"], result["predict_one_short_text"]
    cached_ms = f["cached_s"] * 1000
    print(f"fit {f['fresh_fit_s']:.1f} s fresh, {cached_ms:.0f} ms from the cache ({f['cached_speedup']:.0f}x)")
    print(f"embedder load {f['embedder_load_s']:.1f} s (once per process)")
    for name, s in p.items():
        if isinstance(s, dict):
            print(f"predict one text, {name}: p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms")
    print(f"batch of 256: {result['predict_batch_256']['texts_per_s']:.0f} texts/s")
    print(f"load average {result['machine']['load_average_1m']:.2f} on {os.cpu_count()} CPUs; digest {fitted.artifact.digest[:12]}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
