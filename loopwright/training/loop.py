"""The training loop every launcher runs: one process, each torchrun process, each Ray Train worker.

    for step in range(start, total):
        epoch, b = divmod(step, steps_per_epoch)
        rows  = order(epoch)[b * B : (b + 1) * B][rank::world]   # the data position is the step alone
        loss  = task.loss(model, task.batch(rows, step))          # DDP averages gradients across processes
        clip, AdamW, schedule; every `checkpoint_every` steps: checkpoint (rank 0 writes, all ranks' RNG states)

Under torchrun or Ray the process group already exists (gloo on CPU) when
`run` starts; the model is wrapped in `DistributedDataParallel` and each
process takes every world-th row of the same global batch, so N processes
compute the one-process step (up to float summation order). Rank 0 appends
one JSON line per step to `<job>/progress.jsonl` (what the launching process
draws its progress bar from), writes checkpoints and, at the end, the trained
files into `<job>/output/` and `<job>/result.json`. Workers never touch the
workspace: registration is the launching process's job, after they finish.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loopwright.training import checkpoints
from loopwright.training.tasks import Task, build_task, total_steps
from loopwright.training.train_recipe import TrainRecipe

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
"""Called by rank 0 after each step with the progress line it writes."""


@dataclass(frozen=True)
class JobSpec:
    """What every process of a job reads (as `<job>/spec.json`): no workspace, only files."""

    recipe: dict[str, Any]
    job_key: str
    job_dir: str
    base_dir: str | None = None
    resume: bool = False

    @property
    def folder(self) -> Path:
        return Path(self.job_dir)

    def write(self) -> Path:
        path = self.folder / "spec.json"
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True), "utf-8")
        return path

    @classmethod
    def read(cls, path: str | Path) -> JobSpec:
        return cls(**json.loads(Path(path).read_text("utf-8")))


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size()
    return None, 0, 1


def _optimiser(task: Task, recipe: TrainRecipe):
    import torch

    opt = recipe.optimizer
    decay, no_decay, head = [], [], []
    for name, p in task.model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("head.") and recipe.objective.kind == "classification":
            head.append(p)
        elif p.ndim < 2:  # biases and LayerNorm weights: decaying them only fights the normalisation
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": opt.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if head:
        groups.append({"params": head, "weight_decay": opt.weight_decay, "lr": opt.head_lr or opt.lr})
    groups = [g for g in groups if g["params"]]
    # fused: one kernel over all parameters (what transformers' Trainer uses by default on torch >= 2.8)
    return torch.optim.AdamW(groups, lr=opt.lr, betas=opt.betas, fused=True)


def _schedule(optimiser, recipe: TrainRecipe, total: int):
    import torch

    warm, kind = recipe.schedule.warmup_steps, recipe.schedule.kind

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        if kind == "constant":
            return 1.0
        progress = (step - warm) / max(1, total - warm)
        return 1.0 - progress if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)


def _rng_state() -> dict[str, Any]:
    import torch

    state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": [state[0], state[1].tolist(), *state[2:]], "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))


def epoch_order(n: int, epoch: int, recipe: TrainRecipe) -> np.ndarray:
    """Row order for `epoch`: the dataset's (curriculum) order first if asked, then seeded shuffles."""
    if epoch == 0 and recipe.data.order == "curriculum":
        return np.arange(n)
    return np.random.default_rng([recipe.seed, epoch]).permutation(n)


def run(spec: JobSpec, progress: Progress | None = None) -> dict[str, Any] | None:
    """Train per `spec` in this process (one rank of the job); rank 0 returns and writes the result."""
    import torch

    recipe = TrainRecipe.model_validate(spec.recipe)
    dist, rank, world = _dist()
    if recipe.training.batch_size % world:
        from loopwright.errors import ConfigError

        raise ConfigError(f"[training] batch_size {recipe.training.batch_size} does not split over {world} processes")
    task = build_task(recipe, spec.folder / "data", spec.base_dir)
    model = task.model
    optimiser = _optimiser(task, recipe)
    per_epoch, total = total_steps(recipe, len(task.examples))
    schedule = _schedule(optimiser, recipe, total)
    torch.manual_seed(recipe.seed * 1000 + rank)  # dropout differs per rank, as each rank sees other rows
    start, losses, resumed_from = 0, [], None
    last = checkpoints.latest(spec.folder) if spec.resume else None
    if last is not None:
        state = checkpoints.load(last, spec.job_key)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["scheduler"])
        start, losses, resumed_from = int(state["step"]), [float(x) for x in state["losses"]], int(state["step"])
        ranks = state["rng"]
        if len(ranks) == world:
            _set_rng_state(ranks[rank])
        else:
            logger.warning("checkpoint saved by %d processes, resumed on %d: dropout draws differ", len(ranks), world)
    train_model = model
    if dist is not None:
        from torch.nn.parallel import DistributedDataParallel

        train_model = DistributedDataParallel(model)
    autocast = recipe.training.precision == "bf16"
    batch_size = recipe.training.batch_size
    progress_file = spec.folder / "progress.jsonl"
    examples = tokens = 0
    compute = 0.0
    model.train()
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(start, total):
        epoch, b = divmod(step, per_epoch)
        order = epoch_order(len(task.examples), epoch, recipe)
        idx = order[b * batch_size : (b + 1) * batch_size][rank::world]
        t0 = time.perf_counter()
        batch = task.batch([task.examples[i] for i in idx], step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = task.loss(train_model, batch)
        loss.backward()
        if recipe.optimizer.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.optimizer.grad_clip)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad(set_to_none=True)
        counts = torch.tensor([loss.detach().float().item(), float(len(idx)), float(batch["attention_mask"].sum())], dtype=torch.float64)
        if dist is not None:
            dist.all_reduce(counts)
        compute += time.perf_counter() - t0
        step_loss = float(counts[0]) / world
        losses.append(step_loss)
        examples += int(counts[1])
        tokens += int(counts[2])
        done = step + 1
        if done % recipe.training.checkpoint_every == 0 and done < total:
            _checkpoint(spec, recipe, dist, rank, model, optimiser, schedule, done, losses)
        if rank == 0:
            elapsed = time.perf_counter() - started
            line = {"step": done, "total": total, "loss": step_loss, "examples_per_s": examples / elapsed,
                    "tokens_per_s": tokens / elapsed}
            with progress_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            if progress is not None:
                progress(line)
    seconds = time.perf_counter() - started
    cpu = torch.tensor([time.process_time() - cpu_started], dtype=torch.float64)
    if dist is not None:
        dist.all_reduce(cpu)
    if rank != 0:
        return None
    from loopwright.training.outputs import write_output

    output = spec.folder / "output"
    metrics = write_output(task, spec.folder / "data", output)
    result = {
        "steps": total, "resumed_from": resumed_from, "world_size": world, "losses": losses,
        "examples": examples, "tokens": tokens, "seconds": round(seconds, 3),
        "compute_seconds": round(compute * world, 3),  # every process's wall time in steps, summed
        "cpu_seconds": round(float(cpu[0]), 3),  # CPU time of every process's loop: what a busy shared machine does not inflate
        "examples_per_s": round(examples / seconds, 3) if seconds else 0.0,
        "tokens_per_s": round(tokens / seconds, 3) if seconds else 0.0,
        "added_tokens": len(task.added_tokens), "metrics": metrics,
    }
    (spec.folder / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True), "utf-8")
    return result


def _checkpoint(spec: JobSpec, recipe: TrainRecipe, dist, rank: int, model, optimiser, schedule, done: int,
                losses: list[float]) -> None:
    """Every rank's RNG states gathered to rank 0, which writes the checkpoint; the others wait for it."""
    rng = _rng_state()
    ranks = [rng]
    if dist is not None:
        ranks = [None] * dist.get_world_size()
        dist.all_gather_object(ranks, rng)
    if rank == 0:
        state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "scheduler": schedule.state_dict(),
                 "rng": ranks, "step": done, "losses": list(losses), "data_position": {"step": done}}
        checkpoints.save(spec.folder, spec.job_key, done, state, recipe.training.keep_checkpoints)
    if dist is not None:
        dist.barrier()
