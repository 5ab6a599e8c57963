"""The release-controller lease: one holder at a time, renewed by its holder, taken over once it expires."""

from __future__ import annotations

import time

from loopwright.release.controller import LEASE, ReleaseController
from loopwright.store import leases


def test_one_holder_at_a_time(workspace):
    engine = workspace.engine
    assert leases.acquire(engine, LEASE, "a", 30)
    assert not leases.acquire(engine, LEASE, "b", 30)
    assert leases.acquire(engine, LEASE, "a", 30)  # renewal
    assert leases.holder_of(engine, LEASE) == "a"
    leases.release(engine, LEASE, "b")  # not b's to give up
    assert leases.holder_of(engine, LEASE) == "a"
    leases.release(engine, LEASE, "a")
    assert leases.holder_of(engine, LEASE) is None
    assert leases.acquire(engine, LEASE, "b", 30)


def test_an_expired_lease_is_taken_over(workspace):
    engine = workspace.engine
    assert leases.acquire(engine, LEASE, "dead", 0.2)
    assert not leases.acquire(engine, LEASE, "b", 30)
    time.sleep(0.3)
    assert leases.acquire(engine, LEASE, "b", 30) and leases.holder_of(engine, LEASE) == "b"


def test_controllers_take_turns_and_give_the_lease_up(workspace):
    first, second = ReleaseController(workspace, interval_s=60), ReleaseController(workspace, interval_s=60)
    assert first.step() == []  # holds the lease; no release in progress
    assert second.step() is None
    first.stop()  # never started: stop only gives the lease up
    assert second.step() == []


def test_release_watch_waits_while_a_server_holds_the_lease(workspace):
    import os
    import signal
    import subprocess
    import sys

    assert leases.acquire(workspace.engine, LEASE, "a-server", 60)
    proc = subprocess.Popen([sys.executable, "-m", "loopwright", "release", "watch", "--interval", "1", "--workspace", str(workspace.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    try:
        time.sleep(10)  # start-up, then turns under the server's lease
        assert proc.poll() is None and leases.holder_of(workspace.engine, LEASE) == "a-server"
        leases.release(workspace.engine, LEASE, "a-server")
        deadline = time.monotonic() + 30
        while leases.holder_of(workspace.engine, LEASE) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leases.holder_of(workspace.engine, LEASE) not in (None, "a-server")  # watch took it once free
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "holds the release-controller lease; waiting" in out
    assert leases.holder_of(workspace.engine, LEASE) is None  # given up on exit
