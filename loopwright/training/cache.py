"""Trained files outlive a workspace: they are cached under `$LOOPWRIGHT_CACHE_DIR/<kind>/<key>/`
(default `~/.cache/loopwright`), keyed by the digest of everything that went into them, so a second
workspace with the same inputs registers the same bytes (the same artifact digest) without training again."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopwright.files import atomic_folder, cache_root

__all__ = ["TrainedFolder", "cache_root", "cached_folder"]


def cached_folder(kind: str, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
    """`$LOOPWRIGHT_CACHE_DIR/<kind>/<key>/`, built by `build(folder)` unless present; (folder, cache hit).

    Built in a temporary folder and renamed in place, so the folder exists only
    once complete. Like the triage cache it is trusted as built: what the
    registry then stores is verified on every load.
    """
    parent = cache_root() / kind
    target = parent / key
    if target.is_dir():
        return target, True
    with atomic_folder(target) as staging:
        build(staging)
    return target, False


@dataclass(frozen=True)
class TrainedFolder:
    """A trained checkpoint or adapter folder in the cache. `seconds`: training time, or the cache lookup."""

    folder: Path
    key: str
    cache_hit: bool
    seconds: float

    def report(self) -> dict[str, Any]:
        """The folder's training.json."""
        return json.loads((self.folder / "training.json").read_text("utf-8"))

    @property
    def compute_s(self) -> float:
        """The compute that made the folder: the training time its training.json recorded (so a cache hit is priced
        as the run that filled the cache), else this call's `seconds`."""
        try:
            recorded = self.report()
        except (OSError, ValueError):
            return self.seconds
        seconds = recorded.get("train_seconds", recorded.get("seconds"))
        if isinstance(seconds, dict):  # the reader's {"encode", "total"}
            seconds = seconds.get("total")
        return float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else self.seconds
