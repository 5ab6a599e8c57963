"""The triage adapter's trainer against plain PEFT + transformers `Trainer`, same data and settings, in one run.

    python bench/bench_triage_adapter.py            # 160 examples, 1 epoch, 2 rounds
    python bench/bench_triage_adapter.py --quick    # 48 examples, 1 round

Both train the same thing from the same start: MiniLM (all-MiniLM-L6-v2, float32) with
PEFT LoRA (rank 8, alpha 16, query/key/value/dense in the top layer, no dropout on the LoRA branch) and a
linear head over the mean-pooled, normalised vector, cross-entropy (unweighted, no distillation term), AdamW (no weight
decay), the learning rate decayed linearly to 0, batch 16, seed 0, on the first N of the
sample's call-centre examples (`samples/bank/data/adapter_examples.jsonl`):

- loopwright: `loopwright.training.triage_adapter` (its loop: texts tokenised once, each
  batch padded to its own longest text), in a fresh cache folder so it trains;
- Trainer: `transformers.Trainer` with `DataCollatorWithPadding`, `use_cpu`, bf16 and
  fp16 off, no evaluation, no checkpoints, no logging integrations.

Rounds alternate the order. Reported per trainer: the training loop's seconds and
examples/s (the median over rounds) and end-to-end seconds (model load and saving
included); the ratio is Trainer seconds over loopwright seconds, so above 1 means
loopwright's loop is faster. Writes bench/results/triage_adapter.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402


def _rows(n: int) -> tuple[list[str], list[int], list[str]]:
    from loopwright.samples.bank import DATA_DIR

    rows = [json.loads(line) for line in (DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines()[:n]]
    classes = json.loads((DATA_DIR / "intents.json").read_text("utf-8"))
    names = sorted(c["name"] for c in classes)
    return [r["text"] for r in rows], [names.index(r["intent"]) for r in rows], names


def run_loopwright(texts, labels, classes, config) -> dict:
    from loopwright.training.triage_adapter import _train_into

    head = {"classes": classes, "coef": [[0.0] * 384 for _ in classes], "intercept": [0.0] * len(classes), "temperature": 1.0}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        _train_into(Path(folder), texts, labels, [], [], head, config, None)
        report = json.loads((Path(folder) / "training.json").read_text("utf-8"))
    return {"loop_s": report["seconds"], "total_s": round(time.perf_counter() - started, 3), "loss_last": report["loss"]["last"]}


def run_trainer(texts, labels, classes, config) -> dict:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    from loopwright.training.triage_adapter import load_encoder, pooled

    hf_logging.set_verbosity_error()
    started = time.perf_counter()
    tokenizer, encoder = load_encoder(config)

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.head = encoder, torch.nn.Linear(384, len(classes))
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
            batch = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                batch["token_type_ids"] = token_type_ids
            logits = self.head(pooled(self.encoder, batch))
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    encoded = tokenizer(list(texts), truncation=True, max_length=config.max_length)
    dataset = [{"input_ids": ids, "attention_mask": mask, "token_type_ids": tt, "labels": y}
               for ids, mask, tt, y in zip(encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"], labels, strict=True)]
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=config.batch_size, num_train_epochs=config.epochs,
                                 learning_rate=config.lr, weight_decay=0.0, lr_scheduler_type="linear", warmup_steps=0, seed=config.seed,
                                 bf16=False, fp16=False, use_cpu=True, save_strategy="no", eval_strategy="no", logging_strategy="no",
                                 report_to=[], disable_tqdm=True, dataloader_num_workers=0, remove_unused_columns=False)
        trainer = Trainer(model=Classifier(), args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer))
        loop_started = time.perf_counter()
        result = trainer.train()
        loop_s = time.perf_counter() - loop_started
        encoder.save_pretrained(out + "/adapter")
    return {"loop_s": round(loop_s, 3), "total_s": round(time.perf_counter() - started, 3), "loss_last": round(result.training_loss, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="48 examples, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.rounds = 48, 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from loopwright.training.triage_adapter import TriageAdapterConfig

    started = time.perf_counter()
    # Trainer's loss is plain cross-entropy: unweighted and with no distillation term, the same one on both.
    config = TriageAdapterConfig(epochs=args.epochs, balanced=False, distill=0.0)
    texts, labels, classes = _rows(args.examples)
    runs: dict[str, list[dict]] = {"loopwright": [], "trainer": []}
    for r in range(args.rounds):
        order = ("loopwright", "trainer") if r % 2 == 0 else ("trainer", "loopwright")
        for name in order:
            run = (run_loopwright if name == "loopwright" else run_trainer)(texts, labels, classes, config)
            run["examples_per_s"] = round(len(texts) * config.epochs / run["loop_s"], 2)
            runs[name].append(run)
            print(f"round {r + 1} {name}: {run}", flush=True)
    summary = {name: {k: round(common.median([x[k] for x in rs]), 3) for k in ("loop_s", "total_s", "examples_per_s")} for name, rs in runs.items()}
    ratio = round(summary["trainer"]["loop_s"] / summary["loopwright"]["loop_s"], 3)
    total_ratio = round(summary["trainer"]["total_s"] / summary["loopwright"]["total_s"], 3)
    print_table(f"triage adapter training, {len(texts)} examples x {config.epochs} epoch(s), median of {args.rounds} round(s)",
                ["trainer", "loop s", "examples/s", "end-to-end s"],
                [(n, s["loop_s"], s["examples_per_s"], s["total_s"]) for n, s in summary.items()])
    print(f"\nTrainer / loopwright time: loop {ratio}x, end to end {total_ratio}x")
    path = common.write_result("triage_adapter", {"settings": {**config.to_dict(), "examples": len(texts), "rounds": args.rounds},
                                                  "runs": runs, "summary": summary, "ratio_trainer_over_loopwright": {"loop": ratio, "end_to_end": total_ratio}},
                               started=started)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
