"""Automatic rollback without `release watch`: two `loopwright serve` replicas on one PostgreSQL, a bad
canary, and exactly one rollback, made by whichever replica holds the controller lease."""

from __future__ import annotations

import time
from datetime import date

import httpx
import pytest

from loopwright.corpus import commits
from loopwright.registry import artifacts
from loopwright.registry.audit import verify_deployment
from loopwright.registry.receipts import list_receipts
from loopwright.release import releases
from loopwright.release.controller import LEASE
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.server.process import ServeProcess
from loopwright.serving.auth import create_key
from loopwright.store import leases

QUESTION = "How much does a domestic wire cost?"


def _quick_router(bank) -> None:
    """Canary rules that decide after 20 requests a side, on the decline rate alone."""
    toml = (CONFIG_DIR / "router.toml").read_text()
    for old, new in (("steps = [0.1, 0.5, 1.0]", "steps = [0.5, 1.0]"), ("min_samples = 150", "min_samples = 20"),
                     ('critical = ["defect_rate", "decline_rate", "latency_ms", "fcr"]', 'critical = ["decline_rate"]')):
        assert old in toml
        toml = toml.replace(old, new)
    prices = artifacts.read_file(bank, artifacts.resolve(bank, "router/bank@1"), "prices.json")
    set_stable(bank, "router", artifacts.register(bank, "router", "bank", {"router.toml": toml.encode(), "prices.json": prices}).ref,
               reason="test: quick canary rules")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_replicas_roll_a_bad_canary_back_exactly_once(bank):
    _quick_router(bank)
    stable = get_deployment(bank).stable("corpus")
    for doc in ("wire-transfers", "wire-transfers-vi"):  # the canary declines wire questions: stale evidence only
        commits.stage_retire(bank, doc, on=date(2026, 11, 1))
    bad = commits.commit(bank, "retire the wire documents by mistake")
    release, _ = releases.start(bank, "corpus", bad.ref, canary=0.5, skip_gate=True, reason="test: a bad canary")
    toml = bank.root / "loopwright.toml"
    toml.write_text(toml.read_text().replace("release_interval_s = 30", "release_interval_s = 1"))
    keys = [create_key(bank, tenant="larkspur-retail", role="customer", scopes=("retail",), subject=f"cus_{i:03d}")[0]
            for i in range(1, 41)]

    with ServeProcess(bank.root) as a, ServeProcess(bank.root) as b:
        deadline = time.monotonic() + 240
        sent = 0
        with httpx.Client(timeout=60) as client:
            while releases.active(bank, "corpus") and time.monotonic() < deadline:
                for i, key in enumerate(keys):
                    server = (a, b)[i % 2]
                    r = client.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                    json={"model": "larkspur-assistant", "messages": [{"role": "user", "content": QUESTION}]})
                    assert r.status_code == 200, r.text
                    sent += 1
                time.sleep(1.5)  # traces written, and a controller turn
        holder = leases.holder_of(bank.engine, LEASE)
        pids = {a.proc.pid, b.proc.pid}

    assert not releases.active(bank, "corpus"), f"no rollback after {sent} requests"
    with bank.session() as s:
        steps = list_receipts(s, subject=f"release/{release.id}")
        assert verify_deployment(s).ok
    assert [r.action for r in steps] == ["release.gate_skipped", "release.canary", "release.rollback"]
    actor = steps[-1].actor
    assert actor.startswith("release-controller@") and any(f":{pid}:" in actor for pid in pids), actor
    assert holder is None or holder in actor  # given up at shutdown, or still the roller-back's
    dep = get_deployment(bank)
    assert dep.slots["corpus"].canary is None and dep.stable("corpus").digest == stable.digest
