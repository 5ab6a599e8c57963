"""The release controller: canary analysis and automatic promotion or rollback, inside `loopwright serve`.

Every replica runs one; the one holding the store lease `release-controller`
analyses every active release each `interval_s` (`releases.tick`) and the
others only try to take the lease. So a bad canary is rolled back once, by
one replica, whether or not anyone runs `loopwright release watch`; when the
holder stops, it gives the lease up, and when it dies, the lease expires
after `3 * interval_s` and another replica takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from loopwright.errors import LoopwrightError
from loopwright.store import leases

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

LEASE = "release-controller"


class ReleaseController:
    """A daemon thread that ticks the releases while this process holds the controller lease."""

    def __init__(self, ws: Workspace, *, interval_s: float = 30.0, duties: Sequence[Callable[[], object]] = ()):
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.ws = ws
        self.interval_s = interval_s
        self.duties = tuple(duties)  # more once-per-turn work for the lease holder only (SLO alerts), after the tick
        self.ttl_s = max(3 * interval_s, 5.0)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="release-controller", daemon=True)

    def start(self) -> ReleaseController:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking and give the lease up."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 30)
        try:
            leases.release(self.ws.engine, LEASE, self.holder)
        except Exception:  # the store may be gone at shutdown; the lease then expires by itself
            log.warning("could not give up the release-controller lease", exc_info=True)

    def step(self) -> list[dict] | None:
        """One turn: take or renew the lease, then tick; None when another replica holds it."""
        from loopwright.release.releases import tick

        if not leases.acquire(self.ws.engine, LEASE, self.holder, self.ttl_s):
            return None
        actions = tick(self.ws, actor=f"release-controller@{self.holder}")
        for a in actions:
            if a["action"] != "wait":
                log.info("%s (release %s): %s - %s", a["slot"], a["release"], a["action"], a["reason"])
        for duty in self.duties:
            try:
                duty()
            except LoopwrightError as exc:  # e.g. no policy deployed yet
                log.debug("release controller duty: %s", exc.message)
        return actions

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except LoopwrightError as exc:  # e.g. no router deployed yet, or a release ended meanwhile
                log.debug("release controller: %s", exc.message)
            except Exception:  # never let the controller thread die: the next turn tries again
                log.exception("release controller turn failed")
            self._stop.wait(self.interval_s)
