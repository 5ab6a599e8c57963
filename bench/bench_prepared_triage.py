"""Triage accuracy per language before and after the prepared multilingual dataset, on the same test items.

    python bench/bench_prepared_triage.py WORKSPACE [--dataset dataset/bank-multilingual] [--incumbent model/triage@1]

WORKSPACE is a bank workspace where `loopwright triage fit` and `loopwright data
prepare bank/config/recipes/multilingual.toml` have run. The prepared test split
is drawn by the same hash rule as `triage fit`'s, so the incumbent (fitted on
the base utterances, whose training texts all stay in the train split) and a
head fitted on the prepared dataset are scored on the same held-out rows.
Writes bench/results/prepared_triage.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, write_result  # noqa: E402

from loopwright.registry.artifacts import read_file, resolve  # noqa: E402
from loopwright.serving.triage import TriageModel  # noqa: E402
from loopwright.training.triage import fit_triage  # noqa: E402
from loopwright.workspace import Workspace  # noqa: E402


def accuracy_by_language(model: TriageModel, rows: list[dict]) -> dict[str, dict[str, float]]:
    hits: dict[str, list[bool]] = defaultdict(list)
    for row, result in zip(rows, model.predict([r["text"] for r in rows]), strict=True):
        hits[row["language"]].append(result.intent == row["intent"])
        hits["all"].append(result.intent == row["intent"])
    return {lang: {"n": len(h), "accuracy": round(sum(h) / len(h), 4)} for lang, h in sorted(hits.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--dataset", default="dataset/bank-multilingual")
    parser.add_argument("--incumbent", default="model/triage@1")
    args = parser.parse_args()
    started = time.perf_counter()
    ws = Workspace.open(args.workspace)
    dataset = resolve(ws, args.dataset, kind="dataset")
    test = [r for r in map(json.loads, read_file(ws, dataset, "test.jsonl").decode().splitlines()) if r["intent"]]
    before = accuracy_by_language(TriageModel.load(ws, args.incumbent), test)
    fitted = fit_triage(ws, dataset.ref)
    after = accuracy_by_language(TriageModel.load(ws, fitted.artifact), test)
    print_table(f"triage accuracy on {dataset.ref}'s test split", ["language", "n", "incumbent", "fitted on prepared", "delta"],
                [[lang, before[lang]["n"], before[lang]["accuracy"], after[lang]["accuracy"],
                  round(after[lang]["accuracy"] - before[lang]["accuracy"], 4)] for lang in before])
    write_result("prepared_triage", {"dataset": dataset.ref, "dataset_digest": dataset.digest, "incumbent": args.incumbent,
                                     "fitted": fitted.artifact.ref, "before": before, "after": after}, started=started)
    ws.close()


if __name__ == "__main__":
    main()
