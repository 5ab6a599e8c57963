"""Forgetting in the triage adapter: the chargeback-grace fix against the worst drop on any other intent or language.

    python bench/bench_forgetting.py                      # every setting, seed 0
    python bench/bench_forgetting.py --settings 0,2 --seeds 0,1,2
    python bench/bench_forgetting.py --workspace PATH   # reuse (or make) a prepared workspace: set-up takes minutes

Each setting trains `learn adapter --target triage` for real on the sample's 600 call-centre examples plus
a replay set of `dataset/intents` training rows (40 per intent, as the sample's curation replays), reviewed by
the sample's scripted reviewer, in one throwaway workspace. A seed moves the adapter's train/val/test split,
the LoRA initialisation and the batch order. Measured as `learn adapter` measures, on text no setting trained
on: chargeback_grace's defect rate on the dataset's held-out split (hash of the text), and per intent and
language, before and after, each drop with its paired 95% interval and the texts behind it (lost: right
before, wrong after; gained: the other way), on two sets of 1,800 texts, 120 per intent (one text is 0.83
points of an intent):

- dev: drawn here from the sample's templates as `dataset/bank-forgetting` was (`generate_forgetting_set`, seed 1),
  disjoint from it and from every training text: settings are compared and defaults picked on it;
- held out: `dataset/bank-forgetting`, which no setting is picked on (its header says so): the figures reported.

Rows are merged into bench/results/forgetting.json by (setting, seed), so runs of a few settings add up.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

# (label, TriageAdapterConfig fields): the top layer, balanced, 2 epochs, replay 40 throughout.
SETTINGS = [
    ("no distillation", {"distill": 0.0}),
    ("--distill 1", {"distill": 1.0}),
    ("--distill 2", {"distill": 2.0}),
    ("--distill 4", {"distill": 4.0}),
    ("--distill 8", {"distill": 8.0}),
]
REPLAY = 40
HELD_OUT = "dataset/bank-forgetting"
DEV = "dataset/bank-forgetting-dev"
DEV_SEED = 1  # the held-out set's is the sample's seed, 7


def register_dev_set(ws) -> None:
    """`dataset/bank-forgetting-dev`: the held-out set's draw with another seed, disjoint from it and every sample text."""
    from loopwright.registry.artifacts import register
    from loopwright.samples.bank import DATA_DIR
    from loopwright.samples.bank.utterances import generate_forgetting_set

    def rows(path: Path) -> list[dict]:
        return [r for r in map(json.loads, path.read_text("utf-8").splitlines()) if "text" in r]

    seen = [r for name in ("utterances.jsonl", "adapter_examples.jsonl", "forgetting_intents.jsonl") for r in rows(DATA_DIR / name)]
    seen += [r for path in sorted((DATA_DIR / "multilingual").glob("*.jsonl")) if "passages" not in path.name for r in rows(path)]
    items = generate_forgetting_set(DEV_SEED, seen)[1:]
    header = {"_header": f"Development twin of forgetting_intents.jsonl (seed {DEV_SEED}): settings are picked on it."}
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [header, *items])
    register(ws, "dataset", DEV.split("/")[1], {"heldout.jsonl": body.encode()},
             provenance={"source": "bench/bench_forgetting.py: the sample's templates, disjoint from every sample text", "purpose": "evaluation"})


def measured(job, seconds: float) -> dict:
    m, f = job.metrics, job.metrics["forgetting"]
    worst = sorted(f["drop_points"].items(), key=lambda kv: -kv[1])[:3]
    return {"seconds": round(seconds, 1), "cache_hit": job.cache_hit, "grace_defect_before": m["target"]["before"]["defect_rate"],
            "grace_defect_after": m["target"]["after"]["defect_rate"], "grace_ci95_after": m["target"]["after"]["ci95"],
            "grace_n": m["target"]["n"], "worst_drop_points": f["worst_drop_points"],
            "worst_three": [[k, d, f["drop_ci95"][k], f["flips"][k]] for k, d in worst],
            "over_1_point": sorted(k for k, d in f["drop_points"].items() if d > 1.0), "other_intents": f["other_intents"],
            "by_language": {k.split(":")[1]: [d, f["drop_ci95"][k]] for k, d in f["drop_points"].items() if k.startswith("language:")},
            "lost_gained": [sum(v["lost"] for k, v in f["flips"].items() if k.startswith("intent:")),
                            sum(v["gained"] for k, v in f["flips"].items() if k.startswith("intent:"))],
            "overall_before": f["before"]["overall"]["accuracy"], "overall_after": f["after"]["overall"]["accuracy"],
            "per_intent": {k.split(":")[1]: [f["before"]["by_intent"][k.split(":")[1]]["accuracy"],
                                             f["after"]["by_intent"][k.split(":")[1]]["accuracy"], f["flips"][k]]
                           for k in f["drop_points"] if k.startswith("intent:")},
            "rows": f["rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", help="comma-separated indexes into SETTINGS (0-based); default all")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--workspace", type=Path, help="a workspace this bench prepared before, reused (made there if missing)")
    args = parser.parse_args()
    common.quiet_logs()
    started = time.perf_counter()
    from loopwright.learning.adapters import learn_triage_adapter, with_replay
    from loopwright.samples.bank import DATA_DIR
    from loopwright.samples.bank.review import scripted_review
    from loopwright.training.triage_adapter import TriageAdapterConfig

    examples = [{**json.loads(line), "source": "call-centre correction (sample)"}
                for line in (DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines() if line.strip()]
    chosen = [int(i) for i in args.settings.split(",")] if args.settings else range(len(SETTINGS))
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workspace or Path(tmp) / "ws"
        if (root / "loopwright.toml").exists():
            from loopwright.workspace import Workspace

            ws = Workspace.open(root)
        else:
            ws = common.bank_workspace(root, fixed=False, reader=False)
            register_dev_set(ws)
        dataset = with_replay(ws, examples, name=f"grace-replay{REPLAY}", replay="dataset/intents", per_intent=REPLAY)
        scripted_review(ws, dataset)
        for i in chosen:
            label, fields = SETTINGS[i]
            for seed in seeds:
                row = {"setting": label, "seed": seed, "config": {**fields, "replay_per_intent": REPLAY}}
                for name, ref in (("dev", DEV), ("held_out", HELD_OUT)):  # the second trains nothing: the cache has it
                    t0 = time.perf_counter()
                    job = learn_triage_adapter(ws, dataset.ref, TriageAdapterConfig(**fields, seed=seed), name=f"grace-{i}-{seed}-{name}",
                                               intent="chargeback_grace", forgetting=ref)
                    row[name] = measured(job, time.perf_counter() - t0)
                    row.setdefault("examples_per_s", job.examples_per_s)  # the first job's: it trained (or found the cache)
                rows.append(row)
                print(json.dumps(row), flush=True)
                path = save(rows, started)  # after every row: a run of hours keeps what it measured
        ws.close()
    print(f"wrote {path}")
    print_table("forgetting vs the fix (worst: the worst other intent or language, points)",
                ["setting", "seed", "grace defect", "dev worst", "dev over 1", "held-out worst", "held-out over 1", "other intents (held out)"],
                [(r["setting"], r["seed"], f"{r['held_out']['grace_defect_before']} -> {r['held_out']['grace_defect_after']}",
                  r["dev"]["worst_drop_points"], len(r["dev"]["over_1_point"]), r["held_out"]["worst_drop_points"],
                  len(r["held_out"]["over_1_point"]), r["held_out"]["other_intents"]["drop_points"]) for r in rows])


def save(rows: list[dict], started: float) -> Path:
    """bench/results/forgetting.json: these rows, and the earlier runs' rows of other (setting, seed) pairs."""
    previous, done = common.RESULTS / "forgetting.json", {(r["setting"], r["seed"]) for r in rows}
    kept = []
    if previous.exists():
        kept = [r for r in json.loads(previous.read_text("utf-8")).get("settings", []) if "dev" in r and (r["setting"], r["seed"]) not in done]
    return common.write_result("forgetting", {"settings": kept + rows}, started=started)


if __name__ == "__main__":
    main()
