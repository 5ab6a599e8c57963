"""Constrained decoding on the sample LM: how often the answer is valid JSON for the schema, with and without it.

    python bench/bench_constrained.py            # 12 questions x 4 schemas, each free and constrained
    python bench/bench_constrained.py --quick    # 3 questions

The sample LM (`SampleLMConfig.small()`, trained here and cached) answers bank
questions through `loopwright.hf.engine.GenerationEngine`, greedy, 96 new tokens.
Free: the prompt asks for JSON and the model writes what it writes. Constrained:
`loopwright.hf.constrained.json_constraint` with the hf backend's wrap-up past half
the budget. Each schema is one a caller sends: a `json_object`, a strict
`json_schema` with enums, a string-and-number answer, and a forced call of one of
two tools (`tool_choice: required`). Valid means `json.loads` succeeds and
`jsonschema_rs` accepts it. Also: wall and CPU milliseconds per generated token for
both, side by side (the machine is shared; the ratio is the figure).

Writes bench/results/constrained.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

QUESTIONS = [
    "What is the late fee for FlexPay 2.0?", "How do I freeze my card?", "Is there a monthly fee on checking?",
    "Can I dispute a charge I do not recognise?", "What APR does FlexPay charge over 24 months?",
    "How long does a chargeback take?", "¿Cuál es la comisión por pago atrasado?", "Phí trả chậm là bao nhiêu?",
    "Do you charge for a replacement card?", "When is my statement due?", "Can I open a savings account online?",
    "What is the overdraft limit?",
]
SCHEMAS = {
    "json_object": None,
    "enum_strict": {"type": "object", "additionalProperties": False, "required": ["fee", "currency", "waived"],
                    "properties": {"fee": {"type": "number"}, "currency": {"type": "string", "enum": ["USD", "EUR"]},
                                   "waived": {"type": "boolean"}}},
    "answer": {"type": "object", "required": ["answer", "confidence"],
               "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}}},
    "tool_call": None,  # filled in main: call_schema of two tools
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 questions")
    parser.add_argument("--new-tokens", type=int, default=96)
    args = parser.parse_args()
    started = time.perf_counter()

    import jsonschema_rs
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from loopwright.hf.constrained import call_schema, json_constraint
    from loopwright.hf.engine import GenerationEngine
    from loopwright.samples.bank.lm import train_sample_lm
    from loopwright.serving.backends.hf import prompt_ids
    from loopwright.training.lm import SampleLMConfig

    torch.manual_seed(0)
    SCHEMAS["tool_call"] = call_schema([
        ("get_fee", {"type": "object", "required": ["product"], "properties": {"product": {"type": "string"}}}),
        ("freeze_card", {"type": "object", "required": ["last4"], "properties": {"last4": {"type": "string", "pattern": "^[0-9]{4}$"}}}),
    ])
    folder = train_sample_lm(SampleLMConfig.small()).folder
    tokenizer = AutoTokenizer.from_pretrained(folder)
    engine = GenerationEngine(AutoModelForCausalLM.from_pretrained(folder), tokenizer, max_new_tokens=args.new_tokens)
    questions = QUESTIONS[:3] if args.quick else QUESTIONS
    rows, figures = [], {}
    for name, schema in SCHEMAS.items():
        check = schema if schema is not None else {"type": "object"}
        per = {}
        for mode in ("free", "constrained"):
            valid = tokens = 0
            wall = cpu = 0.0
            for q in questions:
                ids = prompt_ids(tokenizer, [{"role": "user", "content": f"{q} Answer in JSON."}])
                allowed = json_constraint(tokenizer, schema, wrap_up_after=args.new_tokens // 2) if mode == "constrained" else None
                t0, c0 = time.perf_counter(), time.process_time()
                result = engine.submit(ids, max_new_tokens=args.new_tokens, allowed=allowed).result()
                wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
                tokens += result.tokens_out
                try:
                    valid += jsonschema_rs.is_valid(check, json.loads(result.text))
                except ValueError:
                    pass
            per[mode] = {"valid": valid, "n": len(questions), "tokens": tokens,
                         "wall_ms_per_token": round(wall * 1e3 / max(tokens, 1), 2),
                         "cpu_ms_per_token": round(cpu * 1e3 / max(tokens, 1), 2)}
        figures[name] = per
        rows.append([name, f"{per['free']['valid']}/{per['free']['n']}", f"{per['constrained']['valid']}/{per['constrained']['n']}",
                     per["free"]["cpu_ms_per_token"], per["constrained"]["cpu_ms_per_token"]])
    engine.close()
    print_table("valid JSON for the schema (sample LM, greedy)",
                ["schema", "free", "constrained", "free cpu ms/token", "constrained cpu ms/token"], rows)
    common.write_result("constrained", {"new_tokens": args.new_tokens, "questions": len(questions), "schemas": figures},
                        started=started)


if __name__ == "__main__":
    main()
