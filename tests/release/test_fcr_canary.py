"""A release that lowers first-contact resolution beyond noise is rolled back: a real gateway, simulated customers
who rephrase, ask for a person or come back when an answer fails them, and a canary (an old savings-rate sheet)
judged on FCR alone."""

from __future__ import annotations

import pytest

from loopwright.demo.traffic import Driver
from loopwright.registry.receipts import list_receipts
from loopwright.release import releases
from loopwright.samples.bank.questions import RETAIL
from loopwright.serving.pipeline import Gateway

from test_releases import SAVINGS, _commit, _setup

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _contacts(n: int) -> list[dict]:
    """Customers cus_001..cus_040 in turn asking about the savings rate, one contact a minute."""
    return [
        {"id": f"c{i:04d}", "t": 60.0 * i, "kind": "faq", "text": "What is the APY on the Larkspur Saver account?",
         "language": "en", "intent": "savings_rates", "tenant": RETAIL, "customer_id": f"cus_{i % 40 + 1:03d}", "expect": SAVINGS}
        for i in range(n)
    ]


def test_a_canary_that_lowers_first_contact_resolution_is_rolled_back(triaged_bank):
    _setup(triaged_bank, min_samples=20, critical='["fcr"]')
    bad = _commit(triaged_bank, ("add", triaged_bank.root / "bank" / "incident" / "savings-rates-2025-03.md"), message="old rates")
    release, _ = releases.start(triaged_bank, "corpus", bad.ref, canary=0.5, skip_gate=True, reason="test: force it")
    gateway = Gateway(triaged_bank, watch=False)
    try:
        gateway.watcher.refresh()
        served = Driver(gateway, seed=3).run(0, "canary", requests=_contacts(60))
    finally:
        gateway.close()
    assert {s.channel for s in served} == {"canary", "stable"} and max(s.turn for s in served) > 1
    actions = releases.tick(triaged_bank)
    assert [a["action"] for a in actions] == ["rolled_back"], actions
    assert "fcr" in actions[0]["reason"]
    with triaged_bank.session() as s:
        evidence = list_receipts(s, subject=f"release/{release.id}")[-1].details["evidence"]
    fcr = next(m for m in evidence["metrics"] if m["metric"] == "fcr")
    assert fcr["regressed"] and fcr["canary"] < fcr["stable"] and fcr["n_canary"] >= 15 and fcr["p_value"] < 0.01
