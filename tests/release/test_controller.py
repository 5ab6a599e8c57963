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
