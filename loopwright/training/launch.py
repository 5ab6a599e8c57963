"""Launchers: the same loop (`loopwright.training.loop.run`) in one process, under torchrun, or on Ray Train.

    local     run(spec) in this process
    torchrun  python -m torch.distributed.run --standalone --nproc_per_node N -m loopwright.training.launch SPEC
              each process: init_process_group("gloo") from torchrun's env, then run(spec)
    ray       ray.init(address="auto") (a `ray start --head` cluster) or a local Ray, then Ray Train's
              TorchTrainer(N workers, CPU): Ray sets up the gloo process group, each worker calls run(spec)

No launcher of our own: torchrun and Ray start, watch and tear down the
processes. The launching process draws progress from `<job>/progress.jsonl`
(written by rank 0) while the job runs. A worker that fails on a
`LoopwrightError` writes its one line to `<job>/error.txt`, which becomes this
process's error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from loopwright.errors import ConfigError, LoopwrightError
from loopwright.training.loop import JobSpec, Progress, run

Launcher = Literal["local", "torchrun", "ray"]
LAUNCHERS: tuple[str, ...] = ("local", "torchrun", "ray")
RAY_HINT = "pip install 'loopwright[ray]' (Ray Train), then `ray start --head` for a cluster on this machine"


class TrainingFailed(LoopwrightError):
    """A training job's processes failed; the message is the first worker's error."""


def _tail(job_dir: Path, progress: Progress | None, running: Callable[[], bool]) -> None:
    """Feed `progress` the lines rank 0 appends to progress.jsonl until `running()` turns false."""
    path, offset = job_dir / "progress.jsonl", 0
    while True:
        alive = running()
        if path.exists() and progress is not None:
            with path.open("r", encoding="utf-8") as f:
                f.seek(offset)
                chunk = f.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            offset += len(complete.encode("utf-8"))
            for line in complete.splitlines():
                progress(json.loads(line))
        if not alive:
            return
        time.sleep(0.2)


def _failure(job_dir: Path, what: str) -> TrainingFailed:
    error = job_dir / "error.txt"
    line = error.read_text("utf-8").strip() if error.exists() else "a worker failed without a message"
    return TrainingFailed(f"{what}: {line}", hint="fix the recipe, then `loopwright train RECIPE --resume` keeps the last checkpoint")


def _torchrun(spec: JobSpec, nproc: int, progress: Progress | None) -> None:
    path = spec.write()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}  # one thread per process per core
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "loopwright.training.launch", str(path)]
    log = (spec.folder / "torchrun.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _tail(spec.folder, progress, lambda: proc.poll() is None)
    finally:
        if proc.poll() is None:  # interrupted: take the workers down with us
            proc.terminate()
            proc.wait(30)
        log.close()
    if proc.returncode != 0:
        raise _failure(spec.folder, f"torchrun (exit {proc.returncode}; log {spec.folder / 'torchrun.log'})")


def _ray_loop(config: dict[str, Any]) -> None:
    """Ray Train's per-worker function: the process group is up; run the loop."""
    _worker(JobSpec.read(config["spec"]))


def _ray(spec: JobSpec, nproc: int, progress: Progress | None) -> None:
    try:
        import ray
        import ray.train.torch  # noqa: F401  (Ray Train: the extra, not only Ray core)
    except ImportError:
        raise ConfigError("Ray is not installed, so --launcher ray cannot run", hint=RAY_HINT) from None
    path = spec.write()
    started_here = not ray.is_initialized()
    if started_here:
        try:  # a cluster started with `ray start --head` (or RAY_ADDRESS)
            ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), log_to_driver=False)
        except (ConnectionError, RuntimeError):
            ray.init(num_cpus=nproc, include_dashboard=False, log_to_driver=False)
    try:
        _ray_fit(ray_trainer(spec, path, nproc), spec, progress)
    finally:
        if started_here:
            ray.shutdown()  # a local Ray this call started (or joined) is not left running


def ray_trainer(spec: JobSpec, path: Path, nproc: int):
    """Ray Train's TorchTrainer over `nproc` CPU workers, each running the loop on the spec at `path`."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    return TorchTrainer(
        _ray_loop,
        train_loop_config={"spec": str(path)},
        torch_config=TorchConfig(backend="gloo"),
        scaling_config=ScalingConfig(num_workers=nproc, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(name=f"loopwright-{spec.job_key[:12]}", storage_path=str(spec.folder / "ray")),
    )


def _ray_fit(trainer, spec: JobSpec, progress: Progress | None) -> None:
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            outcome["result"] = trainer.fit()
        except Exception as exc:  # Ray wraps a worker's error in its own types
            outcome["error"] = exc

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    _tail(spec.folder, progress, thread.is_alive)
    thread.join()
    failed = outcome.get("error") or getattr(outcome.get("result"), "error", None)
    if failed is not None or not (spec.folder / "result.json").exists():
        raise _failure(spec.folder, f"Ray Train ({type(failed).__name__ if failed else 'no result'})")


def launch(spec: JobSpec, launcher: Launcher, nproc: int, progress: Progress | None) -> dict[str, Any]:
    """Run the job under `launcher` with `nproc` processes; rank 0's result.json."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r}", hint=f"one of {', '.join(LAUNCHERS)}")
    if launcher != "local" and nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    (spec.folder / "error.txt").unlink(missing_ok=True)
    if launcher == "local":
        run(spec, progress)
    elif launcher == "torchrun":
        _torchrun(spec, nproc, progress)
    else:
        _ray(spec, nproc, progress)
    return json.loads((spec.folder / "result.json").read_text("utf-8"))


def _worker(spec: JobSpec) -> None:
    """One process of a distributed job; a `LoopwrightError` is written for the launching process to report."""
    try:
        run(spec)
    except LoopwrightError as exc:
        (spec.folder / "error.txt").write_text(exc.one_line(), "utf-8")
        raise
    except Exception as exc:  # the launching process reports one line; the worker's log keeps the traceback
        (spec.folder / "error.txt").write_text(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}", "utf-8")
        raise


def main(argv: list[str] | None = None) -> int:
    """torchrun's entry point: join the process group its environment describes, run the loop, leave."""
    import torch.distributed as dist

    spec = JobSpec.read((argv or sys.argv[1:])[0])
    dist.init_process_group("gloo")
    try:
        _worker(spec)
    except LoopwrightError:
        return 1  # written to error.txt; no traceback for an expected error
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
