"""What was loaded or parsed from an immutable artifact, kept by its digest.

An artifact never changes under its digest, so a parsed policy, a triage head
or a corpus index can be kept and shared by every request: switching back to a
version still warm (a rollback) is a dictionary hit. Callers that ask for the
same digest at once load it once; the others wait for that load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DigestCache(Generic[T]):
    """Values by digest, thread-safe; past `limit` (None: no limit) the least recently used is dropped."""

    def __init__(self, limit: int | None = None):
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
        self._items: OrderedDict[str, T] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, load: Callable[[], T]) -> T:
        """The value kept for `digest`, or `load()`'s, then kept. A failed load keeps nothing."""
        with self._lock:
            if digest in self._items:
                self._items.move_to_end(digest)
                return self._items[digest]
            gate = self._loading.setdefault(digest, threading.Lock())
        with gate:
            with self._lock:
                if digest in self._items:  # loaded by the caller this one waited for
                    return self._items[digest]
            try:
                value = load()
            except BaseException:
                with self._lock:
                    self._loading.pop(digest, None)
                raise
            with self._lock:
                self._items[digest] = value
                self._loading.pop(digest, None)  # with the value in place, so no caller loads it again
                while self.limit is not None and len(self._items) > self.limit:
                    self._items.popitem(last=False)
            return value

    def values(self) -> list[T]:
        """The values kept now, least recently used first."""
        with self._lock:
            return list(self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
