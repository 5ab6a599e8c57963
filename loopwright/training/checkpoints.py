"""Training checkpoints: everything a job needs to continue exactly where it stopped.

    <job>/checkpoints/step-000040/
        state.pt        model, optimiser and scheduler state, every process's RNG states, the data position, the losses
        manifest.json   step, sha256 of state.pt, the job key it belongs to

A checkpoint is written into a temporary folder and renamed in place, so a
process killed mid-write leaves the previous checkpoint whole and no partial
one. `state.pt` is read back with `torch.load(weights_only=True)`: tensors and
plain values only, never arbitrary pickled objects. A checkpoint whose bytes do
not match its manifest, or that does not belong to this job, is an
`IntegrityError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopwright.errors import IntegrityError
from loopwright.files import atomic_folder

STATE = "state.pt"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint folder of a job."""

    folder: Path
    step: int


def checkpoints(job_dir: Path) -> list[Checkpoint]:
    """The job's complete checkpoints, oldest first."""
    root = job_dir / "checkpoints"
    found = []
    for folder in sorted(root.glob("step-*")) if root.is_dir() else []:
        if folder.is_dir() and folder.name.removeprefix("step-").isdigit():
            found.append(Checkpoint(folder, int(folder.name.removeprefix("step-"))))
    return sorted(found, key=lambda c: c.step)


def save(job_dir: Path, job_key: str, step: int, state: dict[str, Any], keep: int) -> Checkpoint:
    """Write `state` as the checkpoint after `step` steps; keep only the newest `keep`."""
    import torch

    target = job_dir / "checkpoints" / f"step-{step:06d}"
    with atomic_folder(target) as staging:
        torch.save(state, staging / STATE)
        digest = hashlib.sha256((staging / STATE).read_bytes()).hexdigest()
        manifest = {"step": step, "job": job_key, "files": {STATE: digest}}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), "utf-8")
    for old in checkpoints(job_dir)[:-keep]:
        shutil.rmtree(old.folder, ignore_errors=True)
    return Checkpoint(target, step)


def load(checkpoint: Checkpoint, job_key: str) -> dict[str, Any]:
    """The state saved in `checkpoint`, verified against its manifest."""
    import torch

    where = checkpoint.folder
    try:
        manifest = json.loads((where / MANIFEST).read_text("utf-8"))
        data = (where / STATE).read_bytes()
        recorded = manifest["files"][STATE]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"checkpoint {where} is corrupt: {type(exc).__name__}: {exc}",
                             hint="delete the folder to resume from the one before, or train again without --resume") from None
    if hashlib.sha256(data).hexdigest() != recorded:
        raise IntegrityError(f"checkpoint {where} is corrupt: {STATE} does not match its recorded sha256",
                             hint="delete the folder to resume from the one before, or train again without --resume")
    if manifest.get("job") != job_key:
        raise IntegrityError(f"checkpoint {where} belongs to another job ({str(manifest.get('job'))[:12]})",
                             hint="train again without --resume")
    try:
        return torch.load(where / STATE, weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files; any one means the same here
        raise IntegrityError(f"checkpoint {where} is corrupt: {type(exc).__name__}") from None


def latest(job_dir: Path) -> Checkpoint | None:
    """The newest complete checkpoint, if any."""
    found = checkpoints(job_dir)
    return found[-1] if found else None
