"""`loopwright train` measured: its loop beside Hugging Face `Trainer`, torchrun and Ray beside one process,
bf16 autocast beside fp32, resume after SIGKILL, and the sample's triage recipe on held-out intents.

    python bench/bench_train.py                       # every section; MiniLM for the loop comparisons
    python bench/bench_train.py --quick               # a tiny BERT from a config everywhere, fewer steps
    python bench/bench_train.py --only triage --heldout PATH   # the demo recipe's per-language held-out accuracy

Sections (each writes its part of bench/results/train.json):

- trainer: the same `Task` (model, tokenizer, rows in the same order, batch, AdamW, linear schedule, gradient
  clipping 1.0, fp32, seed) trained by `loopwright.training.loop.run` and by `transformers.Trainer`
  (`use_cpu`, no bf16, no evaluation, no saving, no logging integrations, a collator calling the same `Task.batch`,
  fused AdamW in both). Loop seconds: ours from the loop's first step to its last, Trainer's its own `train_runtime`.
  Rounds alternate the order; the ratio is Trainer's loop seconds over ours (above 1: ours is faster).
- launchers: one process, `torchrun --nproc_per_node 2` and Ray Train's TorchTrainer with 2 workers on the same
  recipe: the loop's examples/s and the end-to-end wall time (start-up included), as ratios to one process. On 2
  shared cores two processes compete for the same cores as the one process's two threads: no speed-up is expected.
- precision: examples/s of the training loop in fp32 and in bf16 autocast on MiniLM.
- memory: peak RSS growth over two MiniLM steps (batch 32 x 128 tokens) with and without activation checkpointing,
  each in a fresh process.
- resume: the CLI killed with SIGKILL mid-run, then `--resume`; the largest loss difference to an uninterrupted run.
- triage: the sample's `triage-train.toml` trained on `dataset/bank-multilingual` and scored per language on a
  held-out intent file (never trained or tuned on), beside the incumbent logistic head (`triage fit`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import print_table  # noqa: E402

TINY = ('config = { model_type = "bert", hidden_size = 64, num_hidden_layers = 2, num_attention_heads = 2, '
        'intermediate_size = 128, hidden_dropout_prob = 0.0, attention_probs_dropout_prob = 0.0 }')
MINILM = 'base = "all-MiniLM-L6-v2"'


def recipe_text(model: str, steps: int, batch: int = 16, precision: str = "fp32", every: int = 1000) -> str:
    return (f'name = "bench"\nseed = 0\n[data]\ndataset = "dataset/bench"\norder = "shuffle"\n[model]\n{model}\n'
            f'[optimizer]\nlr = 1e-4\nhead_lr = 1e-4\nweight_decay = 0.0\n[schedule]\nkind = "linear"\n'
            f'[training]\nbatch_size = {batch}\nepochs = 100\nmax_steps = {steps}\nmax_length = 32\n'
            f'checkpoint_every = {every}\nprecision = "{precision}"\n')


def bench_rows() -> dict[str, bytes]:
    """The sample's multilingual utterances (phrasebook text, not held out: throughput only) as prepared splits."""
    from loopwright.samples.bank import DATA_DIR

    rows = []
    for path in sorted((DATA_DIR / "multilingual").glob("utterances-*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            rows.append({"text": row["text"], "intent": row["intent"], "language": row.get("language", path.stem[-2:])})
    test = rows[::10]
    return {"train.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
            "val.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in test).encode(),
            "test.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in test).encode()}


def workspace(root: Path):
    from loopwright.registry.artifacts import register
    from loopwright.workspace import init_workspace

    ws = init_workspace(root)
    register(ws, "dataset", "bench", bench_rows())
    return ws


def run_ours(recipe, data: Path, job: Path) -> float:
    """Seconds of loopwright's training loop (the task built beforehand, as for Trainer)."""
    from loopwright.training.loop import JobSpec, run

    shutil.rmtree(job, ignore_errors=True)
    (job / "data").mkdir(parents=True)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        shutil.copy(data / name, job / "data" / name)
    result = run(JobSpec(recipe.model_dump(mode="json"), "bench", str(job)))
    return result["steps"] * recipe.training.batch_size / result["examples_per_s"]


def run_trainer(recipe, data: Path, out: Path) -> float:
    """Seconds of `transformers.Trainer`'s training loop (its own `train_runtime`) on the same task, rows and settings."""
    import torch
    from transformers import Trainer, TrainingArguments

    from loopwright.training.tasks import build_task, total_steps

    task = build_task(recipe, data, None)
    _, steps = total_steps(recipe, len(task.examples))

    class Scored(torch.nn.Module):  # Trainer wants the loss from forward
        def __init__(self):
            super().__init__()
            self.inner = task.model

        def forward(self, input_ids, attention_mask, labels):
            return {"loss": torch.nn.functional.cross_entropy(self.inner(input_ids, attention_mask), labels)}

    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=recipe.training.batch_size, max_steps=steps,
                             learning_rate=recipe.optimizer.lr, weight_decay=0.0, lr_scheduler_type="linear", warmup_steps=0,
                             max_grad_norm=1.0, use_cpu=True, bf16=False, fp16=False, save_strategy="no", eval_strategy="no",
                             logging_strategy="no", report_to=[], seed=recipe.seed, dataloader_num_workers=0,
                             disable_tqdm=True, remove_unused_columns=False)
    trainer = Trainer(model=Scored(), args=args, train_dataset=task.examples, data_collator=lambda rows: task.batch(rows, 0))
    return float(trainer.train().metrics["train_runtime"])


def section_trainer(args, tmp: Path, ws) -> dict:
    from loopwright.registry.artifacts import read_file, resolve
    from loopwright.training.train_recipe import parse_train_recipe

    data = tmp / "data"
    data.mkdir(exist_ok=True)
    dataset = resolve(ws, "dataset/bench")
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        (data / name).write_bytes(read_file(ws, dataset, name))
    recipe = parse_train_recipe(recipe_text(args.model_line, args.steps))
    ours, theirs = [], []
    for r in range(args.rounds):
        order = (("ours", run_ours), ("trainer", run_trainer)) if r % 2 == 0 else (("trainer", run_trainer), ("ours", run_ours))
        for name, fn in order:
            seconds = fn(recipe, data, tmp / f"{name}-{r}")
            (ours if name == "ours" else theirs).append(seconds)
    examples = args.steps * recipe.training.batch_size
    out = {"model": args.model, "steps": args.steps, "batch_size": recipe.training.batch_size, "rounds": args.rounds,
           "loopwright": {"seconds": round(common.median(ours), 3), "examples_per_s": round(examples / common.median(ours), 2)},
           "trainer": {"seconds": round(common.median(theirs), 3), "examples_per_s": round(examples / common.median(theirs), 2)},
           "ratio_trainer_over_loopwright": round(common.median(theirs) / common.median(ours), 3)}
    print_table(f"training loop, {args.model}, {args.steps} steps x {recipe.training.batch_size}", ["", "seconds", "examples/s"],
                [["loopwright", out["loopwright"]["seconds"], out["loopwright"]["examples_per_s"]],
                 ["HF Trainer", out["trainer"]["seconds"], out["trainer"]["examples_per_s"]]])
    print(f"Trainer / loopwright time: {out['ratio_trainer_over_loopwright']}x")
    return out


def section_launchers(args, tmp: Path, ws) -> dict:
    from loopwright.training.jobs import train_model

    path = tmp / "launch.toml"
    path.write_text(recipe_text(TINY, args.launch_steps, batch=32), "utf-8")
    import torch

    out = {}
    launchers = [("local", 1), ("torchrun", 2)] + ([("ray", 2)] if not args.no_ray else [])
    threads = torch.get_num_threads()
    for launcher, n in launchers:
        # one process gets every core as threads; torchrun and Ray give each process one thread per core
        torch.set_num_threads((os.cpu_count() or 1) if launcher == "local" else threads)
        started = time.perf_counter()
        try:
            result = train_model(ws, path, launcher=launcher, nproc=n, use_cache=False).result  # type: ignore[arg-type]
        finally:
            torch.set_num_threads(threads)
        out[launcher] = {"processes": n, "threads_per_process": os.cpu_count() if launcher == "local" else 1,
                         "loop_examples_per_s": result["examples_per_s"], "cpu_seconds": result.get("cpu_seconds"),
                         "end_to_end_s": round(time.perf_counter() - started, 2), "last_loss": result["losses"][-1]}
    base = out["local"]
    for name, row in out.items():
        row["throughput_vs_one_process"] = round(row["loop_examples_per_s"] / base["loop_examples_per_s"], 3)
        row["loss_diff_vs_one_process"] = abs(row["last_loss"] - base["last_loss"])
    print_table(f"launchers, tiny BERT, {args.launch_steps} steps x 32", ["launcher", "procs", "loop ex/s", "x 1 proc", "end to end s"],
                [[k, v["processes"], v["loop_examples_per_s"], v["throughput_vs_one_process"], v["end_to_end_s"]] for k, v in out.items()])
    return {"steps": args.launch_steps, "cpus": os.cpu_count(), **out}


def section_precision(args, tmp: Path, ws) -> dict:
    from loopwright.training.jobs import train_model

    out = {}
    for precision in ("fp32", "bf16", "fp32", "bf16")[: 2 * args.rounds]:
        path = tmp / f"{precision}.toml"
        path.write_text(recipe_text(args.model_line, args.precision_steps, precision=precision), "utf-8")
        result = train_model(ws, path, use_cache=False).result
        out.setdefault(precision, []).append(result["examples_per_s"])
    summary = {p: round(common.median(v), 2) for p, v in out.items()}
    ratio = round(summary["bf16"] / summary["fp32"], 3)
    print_table(f"precision, {args.model}, {args.precision_steps} steps", ["precision", "examples/s"], list(summary.items()))
    return {"model": args.model, "examples_per_s": summary, "bf16_over_fp32": ratio}


def section_resume(args, tmp: Path) -> dict:
    from loopwright.registry.artifacts import list_artifacts, read_file
    from loopwright.training.jobs import train_model

    root = tmp / "resume"
    ws = workspace(root)
    path = tmp / "resume.toml"
    steps = 160
    path.write_text(recipe_text(TINY, steps, batch=8, every=20), "utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "loopwright", "train", str(path), "--json", "--workspace", str(root)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jobs, killed_at = root / ".loopwright" / "jobs", 0
    while proc.poll() is None:
        progress = list(jobs.glob("*/progress.jsonl")) if jobs.is_dir() else []
        lines = progress[0].read_text("utf-8").splitlines() if progress else []
        if len(lines) >= 50:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = len(lines)
            break
        time.sleep(0.01)
    proc.wait()
    registered_after_kill = len(list_artifacts(ws, kind="model"))
    done = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, check=True)
    resumed_from = json.loads(done.stdout)["resumed_from"]
    losses = json.loads(read_file(ws, list_artifacts(ws, kind="model")[0], "training.json"))["losses"]
    os.environ["LOOPWRIGHT_CACHE_DIR"] = str(tmp / "resume-ref-cache")
    import torch

    torch.set_num_threads(1)
    reference = train_model(workspace(tmp / "resume-ref"), path).result["losses"]
    diff = max(abs(a - b) for a, b in zip(losses, reference, strict=True))
    out = {"steps": steps, "killed_at_step": killed_at, "resumed_from": resumed_from, "artifacts_after_kill": registered_after_kill,
           "next_step_loss_diff": abs(losses[resumed_from] - reference[resumed_from]), "max_loss_diff": diff}
    print_table("resume after SIGKILL", ["killed at", "resumed from", "next-step |diff|", "max |diff|"],
                [[killed_at, resumed_from, out["next_step_loss_diff"], diff]])
    return out


def memory_probe(checkpointing: bool, model_line: str) -> dict:
    """In a fresh process: peak RSS growth over two training steps of 32 long texts (128 tokens), with or without
    activation checkpointing. RSS, not a CUDA counter: the CPU has no other, and the model's own bytes are counted
    before the steps, so the growth is activations, gradients and optimiser state."""
    import resource

    import torch

    from loopwright.training.tasks import build_task
    from loopwright.training.train_recipe import parse_train_recipe

    text = recipe_text(model_line, 2, batch=32).replace("max_length = 32", "max_length = 128")
    if checkpointing:
        text += "activation_checkpointing = true\n"
    recipe = parse_train_recipe(text)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        long = " ".join(["please tell me what the monthly maintenance fee on my checking account is"] * 12)
        rows = [{"text": f"{long} {i}", "intent": ["fees", "balance"][i % 2], "language": "en"} for i in range(64)]
        (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
        task = build_task(recipe, data, None)
    optimiser = torch.optim.AdamW(task.model.parameters(), lr=1e-4)
    optimiser.zero_grad()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for step in range(2):
        task.loss(task.model, task.batch(task.examples[step * 32 : (step + 1) * 32], step)).backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_growth_mb": round((after - before) / 1024, 1), "seconds_per_step": round((time.perf_counter() - started) / 2, 3)}


def section_memory(args, tmp: Path) -> dict:
    out = {}
    for checkpointing in (False, True):
        cmd = [sys.executable, __file__, "--memory-probe", "1" if checkpointing else "0"] + (["--quick"] if args.quick else [])
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out["activation_checkpointing" if checkpointing else "plain"] = json.loads(done.stdout.strip().splitlines()[-1])
    saved = out["plain"]["peak_growth_mb"] - out["activation_checkpointing"]["peak_growth_mb"]
    print_table(f"activation checkpointing, {args.model}, batch 32 x 128 tokens", ["", "peak RSS growth MB", "s/step"],
                [[k, v["peak_growth_mb"], v["seconds_per_step"]] for k, v in out.items()])
    return {"model": args.model, **out, "saved_mb": round(saved, 1)}


def _accuracy(model, rows: list[dict]) -> dict:
    predictions = model.predict([r["text"] for r in rows])
    out = {}
    for lang in ("en", "es", "vi"):
        pairs = [(p.intent, r["intent"]) for p, r in zip(predictions, rows, strict=True) if r["language"] == lang]
        out[lang] = {"n": len(pairs), "accuracy": round(sum(a == b for a, b in pairs) / len(pairs), 4) if pairs else None}
    return out


def section_triage(args, tmp: Path) -> dict:
    from loopwright.samples.bank import DATA_DIR
    from loopwright.serving.triage import TriageModel
    from loopwright.training.data.prepare import prepare_dataset
    from loopwright.training.jobs import train_model
    from loopwright.training.triage import fit_triage

    heldout = Path(args.heldout) if args.heldout else DATA_DIR / "heldout_intents.jsonl"
    if not heldout.exists():
        print(f"no held-out intent file at {heldout}: pass --heldout PATH")
        return {"skipped": f"no {heldout}"}
    rows = [r for r in (json.loads(line) for line in heldout.read_text("utf-8").splitlines()) if "intent" in r and "text" in r]
    ws = common.bank_workspace(tmp / "bank", fixed=False, triage=False)
    incumbent = fit_triage(ws, deploy=True).artifact
    config = ws.root / "bank" / "config" / "recipes"
    prepare_dataset(ws, config / "multilingual.toml")
    started = time.perf_counter()
    trained = train_model(ws, config / "triage-train.toml")
    seconds = time.perf_counter() - started
    before, after = _accuracy(TriageModel.load(ws, incumbent), rows), _accuracy(TriageModel.load(ws, trained.artifact), rows)
    r = trained.result
    out = {"heldout": str(heldout), "items": len(rows), "incumbent": {"ref": incumbent.ref, "by_language": before},
           "trained": {"ref": trained.artifact.ref, "by_language": after, "cache_hit": trained.cache_hit, "seconds": round(seconds, 1),
                       "steps": r["steps"], "examples_per_s": r["examples_per_s"], "cpu_seconds": r.get("cpu_seconds"),
                       "added_tokens": r.get("added_tokens"), "test_split": trained.result["metrics"].get("by_language")}}
    print_table(f"triage on held-out intents ({heldout.name}, {len(rows)} items)", ["language", "n", "incumbent", "trained"],
                [[lang, before[lang]["n"], before[lang]["accuracy"], after[lang]["accuracy"]] for lang in ("en", "es", "vi")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny BERT everywhere, fewer steps")
    parser.add_argument("--only", choices=["trainer", "launchers", "precision", "memory", "resume", "triage"], action="append")
    parser.add_argument("--memory-probe", choices=["0", "1"], help=argparse.SUPPRESS)
    parser.add_argument("--heldout", help="held-out intent JSON lines (text, intent, language) for the triage section")
    parser.add_argument("--no-ray", action="store_true", help="leave Ray out of the launchers section")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    args.model, args.model_line = ("tiny-bert", TINY) if args.quick else ("all-MiniLM-L6-v2", MINILM)
    if args.memory_probe is not None:  # the memory section's fresh process
        print(json.dumps(memory_probe(args.memory_probe == "1", args.model_line)))
        return
    args.steps, args.launch_steps, args.precision_steps = (30, 60, 10) if args.quick else (24, 120, 12)
    started = time.perf_counter()
    common.quiet_logs()
    results: dict = {}
    path = common.RESULTS / "train.json"
    if path.exists():  # sections run alone keep the others' last figures
        results = {k: v for k, v in json.loads(path.read_text("utf-8")).get("sections", {}).items()}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["LOOPWRIGHT_CACHE_DIR"] = os.environ.get("LOOPWRIGHT_CACHE_DIR") or str(tmp / "cache")
        ws = workspace(tmp / "ws")
        wanted = args.only or ["trainer", "launchers", "precision", "memory", "resume", "triage"]
        for name in wanted:
            fn = {"trainer": lambda: section_trainer(args, tmp, ws), "launchers": lambda: section_launchers(args, tmp, ws),
                  "precision": lambda: section_precision(args, tmp, ws), "resume": lambda: section_resume(args, tmp),
                  "memory": lambda: section_memory(args, tmp),
                  "triage": lambda: section_triage(args, tmp)}[name]
            results[name] = fn()
    written = common.write_result("train", {"quick": args.quick, "sections": results}, started=started)
    print(f"\nwrote {written}")


if __name__ == "__main__":
    main()
