"""The workspace: a folder with `loopwright.toml` and `.loopwright/` (database, blobs, signing key).

Found from an explicit path, `LOOPWRIGHT_WORKSPACE`, or the current folder upwards.
"""

from __future__ import annotations

import getpass
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from loopwright.errors import WorkspaceError
from loopwright.registry.blobs import BlobStore
from loopwright.registry.signing import Signer
from loopwright.settings import CONFIG_FILE, STATE_DIR, Settings, load_settings, render_default_config
from loopwright.store import open_engine, read_session, write_session


class Workspace:
    """An opened workspace. Its engine and key are opened on first use."""

    def __init__(self, root: Path, settings: Settings):
        self.root = root
        self.settings = settings
        self.state_dir = root / STATE_DIR
        self.blobs = BlobStore(self.state_dir / "blobs")

    @classmethod
    def open(cls, root: Path | str) -> Workspace:
        """Open the workspace at `root` (not searching upwards)."""
        root = Path(root).resolve()
        if not (root / CONFIG_FILE).is_file() or not (root / STATE_DIR).is_dir():
            raise WorkspaceError(
                f"{root} is not a loopwright workspace (no {CONFIG_FILE} and {STATE_DIR}/)",
                hint="run `loopwright init DIR`, or pass --workspace",
            )
        return cls(root, load_settings(root))

    @property
    def database_url(self) -> str:
        return self.settings.store.database_url or f"sqlite:///{self.state_dir / 'loopwright.db'}"

    @cached_property
    def engine(self) -> Engine:
        return open_engine(self.database_url)

    @cached_property
    def signer(self) -> Signer:
        return Signer.load(self.state_dir)

    @property
    def actor(self) -> str:
        """Who is acting, for receipts: LOOPWRIGHT_ACTOR, else the login name."""
        return os.environ.get("LOOPWRIGHT_ACTOR") or getpass.getuser()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only session."""
        with read_session(self.engine) as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialised write transaction; state changes and their receipts go in one."""
        with write_session(self.engine) as s:
            yield s

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def find_workspace(explicit: str | Path | None = None) -> Workspace:
    """The workspace named by `explicit`, else `LOOPWRIGHT_WORKSPACE`, else the nearest above the cwd."""
    named = explicit or os.environ.get("LOOPWRIGHT_WORKSPACE")
    if named:
        return Workspace.open(named)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / STATE_DIR).is_dir():
            return Workspace.open(folder)
    raise WorkspaceError(
        f"no loopwright workspace in {here} or any folder above it",
        hint="run `loopwright init DIR`, pass --workspace DIR, or set LOOPWRIGHT_WORKSPACE",
    )


def init_workspace(
    root: Path | str, *, name: str | None = None, sample: str | None = None, as_of: date | None = None
) -> Workspace:
    """Create a workspace at `root`: config, state folder, signing key, migrated database.

    `as_of` pins the date freshness is judged against (samples pin their own "today").
    """
    root = Path(root).resolve()
    if (root / STATE_DIR).exists():
        raise WorkspaceError(f"{root} already holds a workspace ({STATE_DIR}/ exists)")
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE
    wrote_config = not config.exists()
    if wrote_config:
        config.write_text(render_default_config(name or root.name, sample, as_of), encoding="utf-8")
    state = root / STATE_DIR
    state.mkdir(mode=0o700)
    try:
        (state / "blobs").mkdir()
        Signer.generate(state)
        ws = Workspace(root, load_settings(root))
        ws.engine  # noqa: B018 - create and migrate the database now, so init fails fast on a bad URL
    except BaseException:
        # Leave the folder as it was: a half-made workspace would be found by later commands.
        shutil.rmtree(state, ignore_errors=True)
        if wrote_config:
            config.unlink(missing_ok=True)
        raise
    return ws
