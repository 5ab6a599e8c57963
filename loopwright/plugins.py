"""Plugins: installed packages extend loopwright through entry points, which register themselves on import.

Validators (`loopwright.validators`), tools (`loopwright.tools`), subject
stores (`loopwright.subject_stores`) and model backends (`loopwright.backends`)
each keep their own registry; this is the
one loader they share, so every group is imported once per process, after the
built-ins it names.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from importlib.metadata import entry_points

log = logging.getLogger(__name__)

_loaded: set[str] = set()
_lock = threading.Lock()


def load_plugins(group: str, builtins: Sequence[str] = ()) -> None:
    """Import the `builtins` modules, then every installed entry point of `group`; once per process."""
    with _lock:
        if group in _loaded:
            return
        _loaded.add(group)  # before importing: a plugin that fails is reported once, not on every lookup
        for module in builtins:
            importlib.import_module(module)
        for ep in entry_points(group=group):
            log.info("loading %s from %s", group, ep.value)
            ep.load()
