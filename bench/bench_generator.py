"""The sample's generator against the extractive stapler: held-out documents and the goldens, same run.

    python bench/bench_generator.py [--steps N] [--quick] [--answerable-only | --no-goldens] [--workspace DIR]

In a throwaway bank workspace with the corpus fix live (FlexPay 2.0 certified,
as after the demo's inference phase), it trains the sample's generator
(`loopwright.samples.bank.generator`, cached by its examples' digest), then:

- held-out: the question-bank paraphrases of the four held-out document
  families (never trained on, their spans never in a training prompt), with the
  gateway's real evidence. Each answer is scored for the fact stated (every
  expected string in it), citation precision (the cited spans hold the fact),
  the first sentence stating the fact, and length in words (citation marks
  dropped). The generator runs on the hf engine as served; the extractive
  stapler with 4 spans (the sample's large tier) and with 1 span answers the
  same evidence.
- goldens: the golden suite through the real request path, with the router's
  large tier on the extractive stapler (shipped) and on the generator (hf,
  `model:large`): pass rate overall, answerable, per language, and per-golden
  median latency.

Writes bench/results/generator.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import bank_workspace, print_table, quiet_logs, router_toml, write_result  # noqa: E402

_MARK = re.compile(r"\s*\[\d{1,2}(?:\s*,\s*\d{1,2})*\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def score(answer: str, cited_texts: list[str], contain: tuple[str, ...]) -> dict:
    """Fact stated, citation precision, first sentence states the fact, words (marks dropped)."""
    plain = _MARK.sub("", answer).strip()
    fold = lambda s: s.casefold()  # noqa: E731
    first = _SENTENCE.split(plain)[0]
    holds = [any(fold(c) in fold(t) for c in contain) for t in cited_texts]
    return {
        "fact": all(fold(c) in fold(plain) for c in contain),
        "first": all(fold(c) in fold(first) for c in contain),
        "precision": (sum(holds) / len(holds)) if holds else 0.0,
        "cites": bool(cited_texts),
        "words": len(plain.split()),
    }


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "n": n,
        "fact_stated": round(sum(r["fact"] for r in rows) / n, 3),
        "first_sentence": round(sum(r["first"] for r in rows) / n, 3),
        "citation_precision": round(sum(r["precision"] for r in rows) / max(1, sum(r["cites"] for r in rows)), 3),
        "cites_something": round(sum(r["cites"] for r in rows) / n, 3),
        "median_words": statistics.median(r["words"] for r in rows),
    }


def heldout(ws, engine, tokenizer, items) -> dict:
    from loopwright.serving.backends.base import cited_numbers
    from loopwright.serving.backends.hf import prompt_ids

    rows: dict[str, list[dict]] = {"generator": [], "extractive-4": [], "extractive-1": []}
    examples = []
    handles = [engine.submit(prompt_ids(tokenizer, i.messages), max_new_tokens=96) for i in items]
    for item, handle in zip(items, handles, strict=True):
        text = handle.result().text.strip()
        texts = [s.text for s in item.evidence]
        cited = [texts[n - 1] for n in cited_numbers(text, len(texts))]
        rows["generator"].append({**score(text, cited, item.contain), "language": item.language})
        for k in (4, 1):
            staple = " ".join(f"{' '.join(t.split())} [{n}]" for n, t in enumerate(texts[:k], 1))
            rows[f"extractive-{k}"].append({**score(staple, texts[:k], item.contain), "language": item.language})
        examples.append({"question": item.question, "expected": list(item.contain), "answer": text})
    out = {name: summary(r) for name, r in rows.items()}
    for lang in sorted({i.language for i in items}):
        out |= {f"{name}/{lang}": summary([x for x in r if x["language"] == lang]) for name, r in rows.items()}
    return {"figures": out, "examples": examples}


def goldens(ws, generator_ref: str, *, answerable_only: bool) -> dict:
    from loopwright.registry import artifacts
    from loopwright.release.goldens import load_suite, run_suite
    from loopwright.serving.pipeline import Gateway

    suite_artifact, suite = load_suite(ws)
    if answerable_only:  # the goldens a generator can change: no tool, no decline
        suite = [g for g in suite if not g.must_decline and g.tool is None]
    shipped = router_toml("router.toml")
    generated = router_toml("router.toml", **{"tiers.large": {
        "backend": "hf", "price": "large",
        "options": {"model_slot": "model:large", "adapter_slot": "", "max_new_tokens": 96, "split_parts": True}}})
    # (split_parts is the gateway's: each part of a multi-part question adds its best span, as on the shipped tier)
    out = {}
    gateway = Gateway(ws, watch=False)
    try:
        for name, text in (("extractive-4", shipped), ("generator", generated)):
            files = {"router.toml": text.encode(), "prices.json": _prices()}
            router = artifacts.register(ws, "router", f"bench-{name}", files)
            report = run_suite(gateway, suite, suite=suite_artifact.ref, overrides={"router": router})
            by_id = {g.id: g for g in suite}
            answerable = [r for r in report.results if not by_id[r.golden_id].must_decline and by_id[r.golden_id].tool is None]
            langs = {}
            for lang in sorted({g.language for g in suite}):
                rs = [r for r in report.results if by_id[r.golden_id].language == lang]
                langs[lang] = round(sum(r.passed for r in rs) / len(rs), 3)
            failures: dict[str, int] = {}
            for r in report.results:
                for f in r.failures:
                    kind = f.split(":")[0].split(" ")[0]
                    failures[kind] = failures.get(kind, 0) + 1
            out[name] = {"failures": failures, "passed": round(sum(r.passed for r in report.results) / len(report.results), 3),
                         "answerable_passed": round(sum(r.passed for r in answerable) / len(answerable), 3),
                         "n": len(report.results), "answerable_n": len(answerable), "by_language": langs}
    finally:
        gateway.close()
    return out


def _certified(ws, doc_id: str) -> bool:
    from loopwright.corpus.commits import commit_of
    from loopwright.registry.deployment import get_deployment

    return commit_of(ws, get_deployment(ws).stable("corpus")).documents[doc_id].meta.certified


def _prices() -> bytes:
    from loopwright.samples.bank import DATA_DIR

    return (DATA_DIR / "prices.json").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the config's)")
    parser.add_argument("--quick", action="store_true", help="a 60-step model: checks the script, not the model")
    parser.add_argument("--no-goldens", action="store_true", help="held-out families only (a loaded machine)")
    parser.add_argument("--answerable-only", action="store_true", help="run only the goldens with no tool and no decline")
    parser.add_argument("--workspace", type=Path, default=None, help="reuse a bank workspace made by an earlier run")
    args = parser.parse_args()
    quiet_logs()
    started = time.perf_counter()
    from dataclasses import replace

    from loopwright.hf.checkpoint import load_causal_lm
    from loopwright.hf.engine import GenerationEngine
    from loopwright.registry.deployment import get_deployment, set_stable
    from loopwright.samples.bank.generator import heldout_items, register_sample_generator
    from loopwright.training.generator import GeneratorConfig
    from loopwright.workspace import Workspace

    config = GeneratorConfig()
    if args.quick:
        config = replace(config, steps=60)
    if args.steps:
        config = replace(config, steps=args.steps)
    tmp = tempfile.mkdtemp(prefix="bench-generator-")
    os.environ.pop("LOOPWRIGHT_DATABASE_URL", None)
    if args.workspace and (args.workspace / "loopwright.toml").exists():
        ws = Workspace.open(args.workspace)
    else:
        ws = bank_workspace(args.workspace or Path(tmp) / "ws")
    t0 = time.perf_counter()
    items = heldout_items(ws)
    examples_s = time.perf_counter() - t0
    answerable = [i for i in items if i.answer is not None]
    t0 = time.perf_counter()
    artifact, trained = register_sample_generator(
        ws, config, progress=lambda step, total, loss: step % 20 == 0 and print(f"step {step}/{total} loss {loss:.3f}", flush=True))
    train_s = time.perf_counter() - t0
    set_stable(ws, "model:large", artifact.ref, reason="bench: the sample generator")
    model, tokenizer = load_causal_lm(ws, artifact, dtype="float32")
    with GenerationEngine(model, tokenizer, max_batch=16, max_new_tokens=96) as engine:
        held = heldout(ws, engine, tokenizer, items)
    gold = {} if args.no_goldens else goldens(ws, artifact.ref, answerable_only=args.answerable_only)
    report = trained.report()
    result = {
        "config": report["config"], "parameters": report["parameters"], "examples": report["examples"],
        "heldout_items_s": round(examples_s, 1), "examples_and_train_s": round(train_s, 1),
        "cache_hit": trained.cache_hit, "triage_deployed": get_deployment(ws).stable("model:triage") is not None,
        "flexpay_certified": _certified(ws, "flexpay-2-0"), "loss": report["loss"],
        "heldout": {"items": len(items), "retrieval_holds_fact": len(answerable), **held},
        "goldens": gold,
    }
    path = write_result("generator", result, started=started)
    f = held["figures"]
    print_table("held-out document families", ["answerer", "n", "fact", "first sentence", "cite precision", "median words"],
                [[k, v["n"], v["fact_stated"], v["first_sentence"], v["citation_precision"], v["median_words"]]
                 for k, v in f.items()])
    print_table("goldens (large tier)", ["large tier", "passed", "answerable passed", "by language"],
                [[k, v["passed"], v["answerable_passed"], v["by_language"]] for k, v in gold.items()])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
