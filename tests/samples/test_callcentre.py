"""Week 3's call-centre labels: deterministic, every misclassified trace corrected, some customers without consent."""

from __future__ import annotations

from collections import Counter

from loopwright.samples.bank.callcentre import AGENTS, adapter_traffic, agent_labels, consents


def test_adapter_traffic_is_the_600_examples_deterministically():
    traffic = adapter_traffic(0)
    assert len(traffic) == 600 and traffic == adapter_traffic(0) and traffic != adapter_traffic(1)
    assert Counter(r["intent"] for r in traffic) == {"chargeback_grace": 300, "dispute_initiation": 300}
    assert {r["language"] for r in traffic} == {"en", "es", "vi"} and len({r["customer_id"] for r in traffic}) > 30


def test_every_misclassified_trace_is_corrected_and_consent_is_per_customer():
    traffic = adapter_traffic(0)
    # as served: triage sends every third grace question to dispute_initiation
    served = [
        {**r, "trace_id": f"tr_{i}", "predicted": "dispute_initiation" if r["intent"] == "chargeback_grace" and i % 3 == 0 else r["intent"]}
        for i, r in enumerate(traffic)
    ]
    labels = list(agent_labels(served, 0, confirm_share=0.5))
    assert labels == list(agent_labels(served, 0, confirm_share=0.5))
    wrong = {s["trace_id"] for s in served if s["predicted"] != s["intent"]}
    assert {lab["trace_id"] for lab in labels if lab["kind"] == "correction"} == wrong
    assert all(lab["correction"] == s["intent"] for lab, s in zip(labels, [x for x in served if x["trace_id"] in {lab["trace_id"] for lab in labels}], strict=True))
    assert 150 < sum(lab["kind"] == "confirmation" for lab in labels) < 350 and {lab["agent"] for lab in labels} <= set(AGENTS)
    by_customer = {s["trace_id"]: s["customer_id"] for s in served}
    assert all(lab["consent"] == consents(by_customer[lab["trace_id"]], 0) for lab in labels)
    refused = sum(not lab["consent"] for lab in labels)
    assert 0 < refused < len(labels) / 2
