"""Curation on the sample bank through the real request path: what is kept, what is dropped and why, the
replay set, the data card and receipt, and the errors that store nothing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.errors import InvalidInput
from loopwright.learning.curate import curate
from loopwright.learning.examples import read_examples
from loopwright.learning.feedback import Author, record_feedback
from loopwright.policy.loader import deployed_policy, load_policy
from loopwright.registry import artifacts
from loopwright.registry.deployment import set_stable
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.samples.bank.callcentre import adapter_traffic, agent_labels
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.serving.pipeline import ChatRequest, Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def receipt_count(ws) -> int:
    with ws.session() as s:
        return len(list_receipts(s))


def label_all(ws, served, seed=0):
    policy = deployed_policy(ws)
    labels = list(agent_labels(served, seed, confirm_share=1.0, consent_share=1.0))
    for label in labels:
        record_feedback(ws, label["trace_id"], author=Author("agent", label["agent"]), policy=policy,
                        correction=label["correction"], consent=True)
    return labels


def test_curated_triage_dataset_keeps_verified_labels_and_replays_every_intent(triaged_bank, serve):
    ws = triaged_bank
    requests = adapter_traffic(1)[:14]
    near = dict(requests[0], id="near", text=requests[0]["text"] + "?")  # a near duplicate of the first
    staff = dict(requests[1], id="staff", tenant="larkspur-staff", text="what is the chargeback grace window for merchants, internally?")
    served = serve(ws, [*requests, near, staff])
    label_all(ws, served)
    gateway = Gateway(ws, watch=False)
    try:  # an evaluation call (a golden run) that someone labelled: never training data
        golden = gateway.complete(ChatRequest("larkspur-assistant", [{"role": "user", "content": "when does chargeback grace end on a refund?"}]),
                                  gateway.principal_for("larkspur-retail", "customer", "cus_001"), sync_trace=True, purpose="golden")
    finally:
        gateway.close()
    record_feedback(ws, golden.trace_id, author=Author("agent", "agt_eli.moss"), policy=deployed_policy(ws), correction="chargeback_grace", consent=True)

    before = receipt_count(ws)
    result = curate(ws, "triage")
    card, rows = result.card, read_examples(ws, result.artifact)
    assert result.artifact.ref == "dataset/curated-triage@1"
    assert card["dropped"]["private"] == 1 and card["dropped"]["evaluation"] == 1
    assert card["dropped"]["duplicate"] >= 1  # the near duplicate, at least (the replay set has its own)
    new = [r for r in rows if r["source"] == "correction"]
    assert len(new) == 14 and card["out"]["by_source"]["correction"] == 14
    assert {r["text"] for r in new} == {r["text"] for r in requests}
    assert all(r["intent"] == req["intent"] for r, req in zip(sorted(new, key=lambda r: r["text"]), sorted(requests, key=lambda r: r["text"]), strict=True))
    assert {r["language"] for r in new} <= {"en", "es", "vi"} and set(rows[0]) == {"text", "intent", "language", "source"}

    # the replay set: every intent of the deployed triage dataset, critical intents whole
    policy = deployed_policy(ws)
    replayed = [r for r in rows if r["source"] == "replay"]
    source = artifacts.resolve(ws, card["replay"]["dataset"])
    earlier = [json.loads(line) for line in artifacts.read_file(ws, source, "utterances.jsonl").decode().splitlines()]
    assert {r["intent"] for r in replayed} == {r["intent"] for r in earlier}
    for intent in {r["intent"] for r in earlier}:
        n = sum(r["intent"] == intent for r in replayed)
        if intent in policy.learning.critical_intents:
            assert n > policy.learning.replay_per_intent  # whole, less its duplicates
        else:
            assert n <= policy.learning.replay_per_intent
    assert card["out"]["examples"] == len(rows) == sum(card["out"]["by_intent"].values())

    # one receipt, typed, in one verifiable chain; the same inputs give the same artifact and no new receipt
    with ws.session() as s:
        receipts = list_receipts(s)[before:]
    assert [r.action for r in receipts] == ["dataset.curate"]
    assert receipts[0].payload.details.dropped == card["dropped"] and receipts[0].payload.details.target == "triage"
    assert curate(ws, "triage").artifact.ref == result.artifact.ref and receipt_count(ws) == before + 1
    with ws.session() as s:
        assert verify_chain(s, ws).ok


def test_raw_personal_data_drops_the_example(triaged_bank, serve):
    """A trace stored under a policy that did not detect e-mail addresses holds one raw; curation under
    the bank's policy finds it and drops the example."""
    ws = triaged_bank
    lax = (CONFIG_DIR / "policy.toml").read_text().replace('EMAIL_ADDRESS = "mask"\n', "")
    set_stable(ws, "policy", artifacts.register(ws, "policy", "bank", {"policy.toml": lax.encode()}).ref, reason="test: no e-mail masking")
    request = dict(adapter_traffic(2)[0], text="my chargeback grace ends when? write to nora.quist@example.com")
    served = serve(ws, [request, *adapter_traffic(2)[1:3]])
    label_all(ws, served)
    result = curate(ws, "triage", policy=load_policy((CONFIG_DIR / "policy.toml").read_text()))
    assert result.card["dropped"]["pii"] == 1 and result.card["out"]["by_source"]["correction"] == 2
    files = b"".join(artifacts.read_file(ws, result.artifact, p) for p in result.artifact.files)
    assert b"nora.quist" not in files


def test_nothing_to_curate_is_one_line_and_stores_nothing(triaged_bank, serve):
    ws = triaged_bank
    served = serve(ws, adapter_traffic(4)[:2])
    record_feedback(ws, served[0]["trace_id"], author=Author("agent", "agt_ana.ruiz"), policy=deployed_policy(ws),
                    correction=served[0]["intent"], consent=False)
    before = (receipt_count(ws), len(artifacts.list_artifacts(ws)))
    with pytest.raises(InvalidInput, match=r"nothing to curate for triage: 1 trace\(s\) with feedback, none usable \(unconsented 1\)"):
        curate(ws, "triage")
    with pytest.raises(InvalidInput, match="unknown curation target"):
        curate(ws, "router")
    runner = CliRunner()
    out = runner.invoke(app, ["learn", "curate", "--target", "generator", "--since", "2999-01-01T00:00:00Z", "-w", str(ws.root)])
    assert out.exit_code == 1 and "nothing to curate for generator: 0 trace(s)" in str(out.exception)
    assert (receipt_count(ws), len(artifacts.list_artifacts(ws))) == before
