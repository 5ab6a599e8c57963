"""Continuous batching on CPU: `GenerationEngine` vs one-at-a-time and static-batch `generate`, plus LoRA hot-swap.

    python bench/bench_hf_batching.py [--rounds 3] [--quick]

A tiny Llama of a realistic shape (hidden 256, 4 layers, vocab 8000, context 512; random
weights, fixed seed). 16 requests, prompts of 40-80 tokens, 64 new tokens each, greedy:

- throughput: the engine (16 threads submit at once) against `model.generate` one request
  at a time on the same prompts, interleaved round by round; ratio of tokens/s (target >= 4x).
  Engine greedy output must equal `generate`'s token for token.
- latency: the engine's p50/p99 time to first token and per-token latency (per request,
  (total - ttft) / (tokens - 1)).
- mixed lengths: half the requests want 8 tokens, half 64. Static batching (`generate` on one
  left-padded batch of 16, the nearest thing `transformers` offers) answers nobody before the
  longest is done; the engine lets the short ones leave. Compared: the short requests' latency.
- adapters: a rank-8 LoRA (q_proj, v_proj) attached, then swapped (attach the next, detach the
  last), while 16 requests decode; attach/detach ms, and requests dropped (target: < 100 ms, 0).
- mixed-adapter batch: one decode step of 16 rows (8 base, 8 on the adapter, PEFT's
  `adapter_names`) against grouping by adapter (two steps of 8).

Writes bench/results/hf_batching.json.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentiles, print_table, quiet_logs, write_result  # noqa: E402

THREADS, N_REQ, NEW_TOKENS, SHORT_TOKENS = 2, 16, 64, 8
VOCAB, EOS, PAD = 8000, 1, 0


def tiny_llama(seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                         tie_word_embeddings=True, eos_token_id=EOS, pad_token_id=PAD, bos_token_id=None)
    return LlamaForCausalLM(config).eval()


def word_tokenizer():
    """A word-level tokenizer with one word per model id, so every generated id decodes."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": PAD, "<eos>": EOS, "<unk>": 2, **{f"w{i}": i for i in range(3, VOCAB)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def random_lora(model, path: Path, seed: int) -> str:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    get_peft_model(copy.deepcopy(model), LoraConfig(r=8, target_modules=["q_proj", "v_proj"],
                                                    init_lora_weights=False)).save_pretrained(path)
    return str(path)


def sequential(model, prompts, lengths):
    """One `generate` per request; (wall s, outputs, per-request latency s)."""
    import torch

    outs, lat = [], []
    t0 = time.perf_counter()
    for p, n in zip(prompts, lengths, strict=True):
        s = time.perf_counter()
        ids = model.generate(torch.tensor([p]), attention_mask=torch.ones(1, len(p), dtype=torch.long),
                             max_new_tokens=n, do_sample=False, eos_token_id=EOS, pad_token_id=PAD)[0, len(p):].tolist()
        outs.append(ids[:ids.index(EOS)] if EOS in ids else ids)
        lat.append(time.perf_counter() - s)
    return time.perf_counter() - t0, outs, lat


def static_batch(model, prompts, max_new: int):
    """One `generate` on a left-padded batch: every request is answered when the longest is done."""
    import torch

    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), PAD)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):], mask[i, width - len(p):] = torch.tensor(p), 1
    t0 = time.perf_counter()
    model.generate(ids, attention_mask=mask, max_new_tokens=max_new, do_sample=False, eos_token_id=EOS,
                   pad_token_id=PAD)
    return time.perf_counter() - t0


def concurrent(engine, prompts, lengths, adapters=None):
    """Submit every request from its own thread at once; (wall s, results, failures)."""
    adapters = adapters or [None] * len(prompts)
    results, failures = [None] * len(prompts), []
    barrier = threading.Barrier(len(prompts) + 1)

    def one(i):
        barrier.wait()
        try:
            results[i] = engine.submit(prompts[i], max_new_tokens=lengths[i], adapter=adapters[i]).result(300)
        except Exception as exc:  # counted: a dropped request is a figure here
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, results, failures


def adapter_swaps(engine, model, prompts, tmp: Path, swaps: int):
    """Attach, then swap (attach next + detach previous) `swaps` times while 16 requests decode."""
    paths = [random_lora(model, tmp / f"lora{i}", seed=10 + i) for i in range(swaps + 1)]
    attach_ms, detach_ms = [], []
    box = {}
    load = threading.Thread(target=lambda: box.update(out=concurrent(engine, prompts, [NEW_TOKENS] * len(prompts))))
    load.start()
    time.sleep(0.3)  # the batch is decoding
    attach_ms.append(engine.attach_adapter("lora0", paths[0]) * 1000)
    for i in range(1, swaps + 1):
        attach_ms.append(engine.attach_adapter(f"lora{i}", paths[i]) * 1000)
        detach_ms.append(engine.detach_adapter(f"lora{i - 1}") * 1000)
    swapped_under_load = load.is_alive()
    load.join()
    engine.detach_adapter(f"lora{swaps}")
    _, results, failures = box["out"]
    return {"attach_ms": percentiles(attach_ms, (50, 99)), "detach_ms": percentiles(detach_ms, (50, 99)),
            "requests_in_flight": len(prompts), "swaps_done_while_decoding": swapped_under_load,
            "dropped": len(failures) + sum(r is None for r in results), "failures": failures[:3]}


def mixed_vs_grouped(engine, model, tmp: Path, steps: int):
    """ms per decode step: 16 rows with per-row adapter names vs two 8-row steps, one per adapter."""
    import torch
    from transformers import DynamicCache

    engine.attach_adapter("mix", random_lora(model, tmp / "mix", seed=99))
    peft_model, half = engine.model, N_REQ // 2
    prompt = torch.randint(3, VOCAB, (N_REQ, 60))

    def step_ms(rows, names):
        cache = DynamicCache(config=peft_model.config)
        with torch.inference_mode():
            peft_model(input_ids=prompt[:rows], cache=cache, adapter_names=names, logits_to_keep=1)
            tok = torch.randint(3, VOCAB, (rows, 1))
            t0 = time.perf_counter()
            for _ in range(steps):
                peft_model(input_ids=tok, cache=cache, adapter_names=names, logits_to_keep=1)
        return (time.perf_counter() - t0) / steps * 1000

    # run on the caller's thread while the engine is idle: the worker is parked on its condition
    mixed = step_ms(N_REQ, ["__base__"] * half + ["mix"] * half)
    grouped = step_ms(half, ["__base__"] * half) + step_ms(half, ["mix"] * half)
    engine.detach_adapter("mix")
    return {"mixed_batch_step_ms": round(mixed, 3), "grouped_two_steps_ms": round(grouped, 3),
            "grouped_over_mixed": round(grouped / mixed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved engine / sequential rounds")
    parser.add_argument("--swaps", type=int, default=5, help="adapter swaps under load")
    parser.add_argument("--quick", action="store_true", help="smoke-sized: 1 round, 2 swaps")
    args = parser.parse_args()
    rounds, swaps = (1, 2) if args.quick else (args.rounds, args.swaps)
    started = time.perf_counter()
    quiet_logs()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from loopwright.hf.engine import GenerationEngine

    model, tokenizer = tiny_llama(), word_tokenizer()
    rnd = random.Random(7)
    prompts = [[rnd.randrange(3, VOCAB) for _ in range(rnd.randrange(40, 81))] for _ in range(N_REQ)]
    lengths = [NEW_TOKENS] * N_REQ
    engine = GenerationEngine(model, tokenizer, max_batch=N_REQ, window_ms=5.0, max_queue=64, threads=THREADS)
    sequential(model, prompts[:2], [4, 4])  # warm-up: first-call allocations are nobody's figure
    concurrent(engine, prompts, [4] * N_REQ)

    rows, ttft, per_token, match = [], [], [], True
    for _ in range(rounds):
        e_wall, results, failures = concurrent(engine, prompts, lengths)
        assert not failures, failures
        s_wall, outs, _ = sequential(model, prompts, lengths)
        e_tok, s_tok = sum(r.tokens_out for r in results), sum(map(len, outs))
        match &= [list(r.token_ids) for r in results] == outs
        ttft += [r.ttft_s * 1000 for r in results]
        per_token += [(r.total_s - r.ttft_s) / max(1, r.tokens_out - 1) * 1000 for r in results]
        rows.append({"engine_tok_s": round(e_tok / e_wall, 1), "sequential_tok_s": round(s_tok / s_wall, 1),
                     "ratio": round((e_tok / e_wall) / (s_tok / s_wall), 2)})
    ratio = statistics.median(r["ratio"] for r in rows)
    static_wall = static_batch(model, prompts, NEW_TOKENS)
    static_tok_s = N_REQ * NEW_TOKENS / static_wall

    # mixed lengths: the short half's latency under static batching is the whole batch's
    mixed_lengths = [SHORT_TOKENS if i % 2 else NEW_TOKENS for i in range(N_REQ)]
    m_wall, m_results, _ = concurrent(engine, prompts, mixed_lengths)
    short_engine = [r.total_s * 1000 for r, n in zip(m_results, mixed_lengths, strict=True) if n == SHORT_TOKENS]
    short_static = static_batch(model, prompts, NEW_TOKENS) * 1000

    with tempfile.TemporaryDirectory(prefix="bench-hf-") as tmp:
        swap = adapter_swaps(engine, model, prompts, Path(tmp), swaps)
        mix = mixed_vs_grouped(engine, model, Path(tmp), steps=20)
    engine.close()

    lat = {"ttft_ms": percentiles(ttft, (50, 99)), "per_token_ms": percentiles(per_token, (50, 99))}
    print_table("throughput, 16 concurrent requests x 64 tokens (tokens/s)",
                ["round", "engine", "sequential generate", "ratio"],
                [(i, r["engine_tok_s"], r["sequential_tok_s"], r["ratio"]) for i, r in enumerate(rows)])
    print_table("engine latency (ms)", ["figure", "p50", "p99", "max"],
                [(k, v["p50"], v["p99"], v["max"]) for k, v in lat.items()])
    print_table("mixed lengths: latency of the 8-token requests (ms)", ["serving", "p50", "max"],
                [("engine (continuous)", statistics.median(short_engine), max(short_engine)),
                 ("static batch generate", short_static, short_static)])
    print_table("adapter hot-swap under load (ms)", ["op", "n", "p50", "max"],
                [(k, swap[k]["n"], swap[k]["p50"], swap[k]["max"]) for k in ("attach_ms", "detach_ms")])
    print(f"\nthroughput ratio (median of {rounds}) {ratio:.2f}x; static batch {static_tok_s:.0f} tok/s; "
          f"greedy outputs match generate: {match}; dropped during swaps: {swap['dropped']}; "
          f"mixed-adapter step {mix['mixed_batch_step_ms']} ms vs grouped {mix['grouped_two_steps_ms']} ms")
    targets = {"throughput_4x": ratio >= 4.0, "outputs_match_generate": match,
               "attach_under_100ms": swap["attach_ms"]["max"] < 100, "no_dropped_requests": swap["dropped"] == 0}
    path = write_result("hf_batching", {
        "params": {"requests": N_REQ, "new_tokens": NEW_TOKENS, "prompt_tokens": [40, 80], "rounds": rounds,
                   "torch_threads": THREADS, "model": "llama hidden 256, 4 layers, vocab 8000, context 512",
                   "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)},
        "targets": targets,
        "throughput": {"median_ratio": ratio, "static_batch_tok_s": round(static_tok_s, 1), "by_round": rows},
        "latency": lat,
        "mixed_lengths_short_ms": {"engine_p50": round(statistics.median(short_engine), 1),
                                   "engine_max": round(max(short_engine), 1),
                                   "static_batch": round(short_static, 1),
                                   "engine_wall_all_ms": round(m_wall * 1000, 1)},
        "adapter_swap": swap,
        "mixed_adapter_batch": mix,
        "quick": args.quick,
    }, started=started)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
