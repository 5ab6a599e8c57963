"""int8 against fp32, side by side in one run: the sample LM and the triage encoder.

    python bench/bench_hf_quant.py            # the sample LM (trained once, then cached: ~4 min the first time)
    python bench/bench_hf_quant.py --small    # the small test LM, a few seconds to train

The sample LM (`model/bank-lm`, loopwright.samples.bank.lm) is loaded twice from one
registered artifact in fp32, bf16 and int8 (torchao weight-only, loopwright.hf.quantize):

- decode tokens/s, greedy, batch 1 and batch 16 (left-padded chat prompts),
  `--new-tokens` each; rounds rotate the models' order and the median is kept,
  because the machine is shared;
- weight bytes in memory, and the process RSS each load added;
- perplexity on the held-out texts (the sample's hash split).

One decoder MLP of the sample LM's shape is also timed alone in fp32, each
torchao int8 scheme, and torch's deprecated `quantize_dynamic` for reference:
the figures behind the choice of scheme in loopwright.hf.quantize.

The triage encoder (all-MiniLM-L6-v2, registered as an `encoder` model) embeds
the held-out test split of the triage utterances in each precision; the triage
head `fit_triage` fitted classifies all three, as serving a quantised embedder
behind an already-fitted head would. Also: encoder texts/s at batch 64.

Writes bench/results/hf_quant.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

# (name, quantize, dtype): the precisions compared, each loaded through loopwright.hf.checkpoint.
VARIANTS = (("fp32", None, "float32"), ("bf16", None, "bfloat16"), ("int8", "int8", "float32"))


def _rss() -> int:
    """Resident set size of this process, in bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _decode_tokens_per_s(model, tokenizer, prompts: list[str], new_tokens: int) -> float:
    import torch

    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    seconds = time.perf_counter() - started
    assert out.shape[1] - batch["input_ids"].shape[1] == new_tokens
    return len(prompts) * new_tokens / seconds


def _embed(model, tokenizer, texts: list[str]):
    """Mean-pooled, L2-normalised vectors, as loopwright.embedding makes them. (N, 384) float32."""
    import torch

    chunks = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            b = tokenizer(texts[i : i + 64], padding=True, truncation=True, max_length=256, return_tensors="pt")
            hidden = model(**b).last_hidden_state.float()  # (B, T, 384)
            mask = b["attention_mask"].unsqueeze(-1).float()
            chunks.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1))
    return torch.cat(chunks).numpy()


def _schemes_side(width: int, hidden: int) -> dict[str, Any]:
    """One decoder MLP (width -> hidden -> width) at 1 and 16 rows: fp32, each int8 scheme, and the deprecated
    torch.ao dynamic path for reference. ms per call (best of 3 x 200) and max |error| against fp32."""
    import copy
    import warnings

    import torch

    from loopwright.hf.quantize import quantize_int8

    torch.manual_seed(0)
    base = torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, width)).eval()
    variants = {"fp32": base}
    for scheme in ("weight-only", "dynamic"):
        variants[f"int8 {scheme} (torchao)"] = quantize_int8(copy.deepcopy(base), scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its DeprecationWarning: measured for reference, not used
        variants["int8 dynamic (torch.ao, deprecated)"] = torch.ao.quantization.quantize_dynamic(copy.deepcopy(base), {torch.nn.Linear}, dtype=torch.qint8)
    out = {}
    with torch.inference_mode():
        for name, module in variants.items():
            row = {}
            for rows in (1, 16):
                x = torch.randn(rows, width)
                module(x)
                best = min(_seconds(lambda: [module(x) for _ in range(200)]) for _ in range(3)) / 200
                row[f"ms_{rows}_rows"] = best * 1e3
                row[f"max_abs_error_{rows}_rows"] = float((module(x) - base(x)).abs().max())
            out[name] = row
    return out


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _lm_side(ws, artifact, prompts: list[str], heldout: list[str], rounds: int, new_tokens: int) -> dict[str, Any]:
    from loopwright.hf.checkpoint import load_causal_lm
    from loopwright.hf.quantize import weight_bytes
    from loopwright.training.lm import perplexity

    loaded, out = {}, {}
    for variant, quantize, dtype in VARIANTS:
        gc.collect()
        before = _rss()
        model, tokenizer = load_causal_lm(ws, artifact, quantize=quantize, dtype=dtype)
        tokenizer.padding_side = "left"  # decoding continues from the right edge
        loaded[variant] = (model, tokenizer)
        out[variant] = {"weight_bytes": weight_bytes(model), "rss_added_bytes": _rss() - before}
    speeds: dict[str, dict[int, list[float]]] = {v: {1: [], 16: []} for v in loaded}
    names = list(loaded)
    for r in range(rounds):
        for variant in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order each round
            model, tokenizer = loaded[variant]
            for size in (1, 16):
                speeds[variant][size].append(_decode_tokens_per_s(model, tokenizer, prompts[:size], new_tokens))
    for variant, (model, tokenizer) in loaded.items():
        out[variant]["decode_tokens_per_s_batch1"] = statistics.median(speeds[variant][1])
        out[variant]["decode_tokens_per_s_batch16"] = statistics.median(speeds[variant][16])
        out[variant]["heldout_perplexity"] = perplexity(model, tokenizer, heldout)
    return out


def _triage_side(ws, fitted) -> dict[str, Any]:
    import numpy as np

    from loopwright.embedding import model_path
    from loopwright.hf.checkpoint import load_encoder, register_checkpoint
    from loopwright.hf.quantize import weight_bytes
    from loopwright.registry.artifacts import resolve
    from loopwright.serving.triage import TriageModel, clean_text
    from loopwright.training.triage import DEFAULT_DATASET, TriageConfig, read_utterances, split_of

    encoder = register_checkpoint(ws, model_path(), "minilm", task="encoder")
    rows = read_utterances(ws, resolve(ws, DEFAULT_DATASET))
    rows = [r for r in rows if split_of(clean_text(r["text"]), TriageConfig()) == "test"]  # the split fit_triage scores
    texts = [clean_text(r["text"]) for r in rows]
    head = TriageModel.load(ws, fitted.artifact)
    labels = np.array([r["intent"] for r in rows])
    out = {}
    for variant, quantize, dtype in VARIANTS:
        model, tokenizer = load_encoder(ws, encoder, quantize=quantize, dtype=dtype)
        _embed(model, tokenizer, texts[:64])  # warm-up
        started = time.perf_counter()
        vectors = _embed(model, tokenizer, texts)
        seconds = time.perf_counter() - started
        predicted = np.array([p.intent for p in head.predict_vectors(vectors)])
        out[variant] = {
            "accuracy": float((predicted == labels).mean()),
            "texts_per_s_batch64": len(texts) / seconds,
            "weight_bytes": weight_bytes(model),
            "vectors": vectors,
        }
    reference = out["fp32"]["vectors"]
    for row in out.values():
        cosine = (row.pop("vectors") * reference).sum(axis=1)  # unit vectors: the dot product is the cosine
        row["min_cosine_to_fp32"], row["mean_cosine_to_fp32"] = float(cosine.min()), float(cosine.mean())
    return {**out, "n": len(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the small test LM instead of the sample LM")
    parser.add_argument("--rounds", type=int, default=5, help="decode timing rounds per model and batch size")
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens generated per decode run")
    args = parser.parse_args()
    common.quiet_logs()
    started = time.perf_counter()
    machine = common.machine_info()

    from loopwright.hf.quantize import preload_torchao
    from loopwright.samples.bank.lm import register_sample_lm, sample_texts
    from loopwright.training.lm import SampleLMConfig

    preload_torchao()
    from loopwright.samples.bank.install import install_sample
    from loopwright.training.triage import fit_triage
    from loopwright.workspace import init_workspace

    config = SampleLMConfig.small() if args.small else SampleLMConfig()
    with tempfile.TemporaryDirectory(prefix="bench-hf-quant-") as tmp:
        os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
        ws = init_workspace(Path(tmp) / "ws")
        install_sample(ws)
        sample = register_sample_lm(ws, config)  # from LOOPWRIGHT_CACHE_DIR after the first run
        _, heldout = sample_texts(config.seed, config.heldout_share)
        questions = [json.loads(line)["input"] for line in (Path(common.ROOT) / "loopwright/samples/bank/data/goldens.jsonl").read_text().splitlines()]
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(sample.trained.folder, local_files_only=True)
        prompts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False) for q in questions[:16]]
        lm = _lm_side(ws, sample.artifact, prompts, heldout, args.rounds, args.new_tokens)
        schemes = _schemes_side(config.hidden_size, config.intermediate_size)
        triage = _triage_side(ws, fit_triage(ws))
        ws.close()

    def ratio(side, key, variant="int8"):
        return side[variant][key] / side["fp32"][key]

    ratios = {
        "lm_decode_batch1_int8_over_fp32": ratio(lm, "decode_tokens_per_s_batch1"),
        "lm_decode_batch16_int8_over_fp32": ratio(lm, "decode_tokens_per_s_batch16"),
        "lm_weight_bytes_int8_over_fp32": ratio(lm, "weight_bytes"),
        "lm_perplexity_int8_over_fp32": ratio(lm, "heldout_perplexity"),
        "lm_decode_batch1_bf16_over_fp32": ratio(lm, "decode_tokens_per_s_batch1", "bf16"),
        "lm_decode_batch16_bf16_over_fp32": ratio(lm, "decode_tokens_per_s_batch16", "bf16"),
        "encoder_texts_per_s_int8_over_fp32": ratio(triage, "texts_per_s_batch64"),
        "encoder_texts_per_s_bf16_over_fp32": ratio(triage, "texts_per_s_batch64", "bf16"),
        "encoder_weight_bytes_int8_over_fp32": ratio(triage, "weight_bytes"),
        "triage_accuracy_points_int8_minus_fp32": 100 * (triage["int8"]["accuracy"] - triage["fp32"]["accuracy"]),
        "triage_accuracy_points_bf16_minus_fp32": 100 * (triage["bf16"]["accuracy"] - triage["fp32"]["accuracy"]),
    }
    result = {
        "machine": machine,
        "model": {"artifact": sample.artifact.ref, "digest": sample.artifact.digest, "parameters": sample.artifact.config["parameters"],
                  "config": sample.artifact.config["training"], "heldout_texts": len(heldout), "new_tokens": args.new_tokens,
                  "rounds": args.rounds},
        "lm": lm,
        "triage": triage,
        "int8_schemes_one_mlp": schemes,
        "ratios": ratios,
    }
    path = common.write_result("hf_quant", result, started=started)

    def rows(side, keys):
        return [[k, *(side[v][k] for v in ("fp32", "bf16", "int8")), side["int8"][k] / side["fp32"][k]] for k in keys]

    header = ["figure", "fp32", "bf16", "int8", "int8/fp32"]
    keys = ["decode_tokens_per_s_batch1", "decode_tokens_per_s_batch16", "weight_bytes", "rss_added_bytes", "heldout_perplexity"]
    print_table(f"sample LM {sample.artifact.ref} ({sample.artifact.config['parameters']:,} parameters)", header, rows(lm, keys))
    keys = ["accuracy", "texts_per_s_batch64", "weight_bytes", "min_cosine_to_fp32", "mean_cosine_to_fp32"]
    print_table(f"triage encoder all-MiniLM-L6-v2, {triage['n']} test texts", header, rows(triage, keys))
    print_table(f"one decoder MLP {config.hidden_size} -> {config.intermediate_size} -> {config.hidden_size}, ms per call",
                ["variant", "1 row", "16 rows", "max |err| 16 rows"],
                [[k, v["ms_1_rows"], v["ms_16_rows"], v["max_abs_error_16_rows"]] for k, v in schemes.items()])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
