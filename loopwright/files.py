"""Atomic writes: a reader (another thread, process or replica) sees the old file or folder, or the whole new one.

Both write to a temporary sibling (a dot-name, so folder scans skip it) and
rename it into place; a failure removes the temporary and leaves the target as
it was. Content-addressed folders (an index, a cached fit, a materialised
artifact) may be built by two processes at once: the second rename fails and
the first one's folder, which holds the same content, is kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_file(path: Path, mode: str = "wb") -> Iterator[IO]:
    """An open file whose contents replace `path` when the block ends (flushed to disk first); `mode` is "wb" or "w"."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` (text as UTF-8) in one rename."""
    with atomic_file(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """An empty temporary folder beside `target`, renamed to `target` when the block ends.

    If `target` exists by then (another process built the same content first),
    theirs is kept and the temporary removed; on an error it is removed too.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def cache_root() -> Path:
    """Where loopwright keeps caches that outlive a workspace: $LOOPWRIGHT_CACHE_DIR, else ~/.cache/loopwright."""
    named = os.environ.get("LOOPWRIGHT_CACHE_DIR")
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "loopwright"
