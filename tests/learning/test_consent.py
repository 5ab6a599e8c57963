"""Feedback given without consent reaches no dataset by any path: not as a label, not as a graded answer,
not through another feedback on the same trace, not through a spot check, not after consent is withdrawn.

The traffic is Week 3's (the sample's held-back adapter examples) through the real request path, on
SQLite and PostgreSQL; every file of every curated dataset is searched for the refused traces' text.
"""

from __future__ import annotations

import pytest

from loopwright.errors import ConflictError, InvalidInput
from loopwright.learning.curate import curate
from loopwright.learning.examples import item_id
from loopwright.learning.feedback import Author, record_feedback
from loopwright.learning.review import Decision, record_decisions, training_examples
from loopwright.observe.traces import get_trace
from loopwright.policy.loader import deployed_policy
from loopwright.registry import artifacts
from loopwright.samples.bank.callcentre import adapter_traffic

AGENT = Author("agent", "agt_ana.ruiz")


def test_unconsented_feedback_reaches_no_dataset_by_any_path(triaged_bank, serve):
    ws = triaged_bank
    policy = deployed_policy(ws)
    served = serve(ws, adapter_traffic(3)[:12])
    t = [s["trace_id"] for s in served]
    text = {s["trace_id"]: get_trace(ws, s["trace_id"])["input"] for s in served}

    def give(i, author=AGENT, **fields):
        record_feedback(ws, t[i], author=author, policy=policy, **fields)

    for i in range(4):  # consented agent labels: the control, these are curated
        give(i, correction=served[i]["intent"], consent=True)
    give(4, correction=served[4]["intent"], consent=False)  # the agent's label, the customer said no
    give(5, correction=served[5]["intent"], consent=True)
    give(5, author=Author("customer", served[5]["customer_id"]), thumbs=-1, consent=False)  # a refusal wins
    give(6, thumbs=1, text="lovely, my name is Nora Quist", consent=False, author=Author("customer", "c6"))
    give(7, rubric={"resolved": 5, "accurate": 5, "tone": 5}, csat=5, consent=False, author=Author("customer", "c7"))
    give(8, thumbs=1, consent=True, author=Author("customer", "c8"))
    give(9, rubric={"resolved": 1, "accurate": 1, "tone": 2}, consent=True, author=Author("customer", "c9"))
    give(10, correction=served[10]["intent"], consent=True, author=Author("customer", "c10"))  # not a corrector
    give(11, correction=served[11]["intent"], consent=True)
    refused = {t[4], t[5], t[6], t[7]}

    triage = curate(ws, "triage")
    generator = curate(ws, "generator")
    assert triage.card["out"]["by_source"]["correction"] == 5  # t0-t3 and t11
    assert triage.card["dropped"]["unconsented"] == 4 and triage.card["dropped"]["unverified"] == 1
    # t8 and t9 only (t9's answer may be dropped instead, when the evidence it staples holds a phone number)
    labels, pii = generator.card["out"]["by_label"], generator.card["dropped"].get("pii", 0)
    assert labels["good"] == 1 and labels["bad"] + pii == 1
    assert generator.card["dropped"]["unconsented"] == 4
    for card in (triage.card, generator.card):
        assert not refused & set(card["traces"].values())
        assert card["in"]["consented"] < card["in"]["feedback"]

    # every byte of every curated dataset: no refused trace's text, and the unconsented free text was never stored
    assert get_trace(ws, t[6])["feedback"][0]["text"] is None
    curated = [a for a in artifacts.list_artifacts(ws, kind="dataset") if a.name.startswith("curated-")]
    assert {a.name for a in curated} == {"curated-triage", "curated-generator"}
    blobs = b"".join(artifacts.read_file(ws, a, path) for a in curated for path in a.files).decode("utf-8")
    for trace_id in refused:
        assert text[trace_id] not in blobs and trace_id not in blobs
    assert "Nora Quist" not in blobs

    # a spot check cannot bring a refused trace in: its row is not an item of the dataset
    ghost = {"text": text[t[4]], "intent": served[4]["intent"], "language": "en", "source": "correction"}
    with pytest.raises(InvalidInput, match="not a new example"):
        record_decisions(ws, triage.artifact, [Decision(item_id(ghost), "approve")], reviewer="qa", scripted=True)

    # consent withdrawn after curation: the dataset is refused at training time, even fully reviewed
    record_decisions(
        ws, triage.artifact, [Decision(i, "approve") for i in triage.card["traces"]], reviewer="qa", scripted=True
    )
    assert len(training_examples(ws, triage.artifact)) == triage.card["out"]["examples"]
    give(11, author=Author("customer", served[11]["customer_id"]), thumbs=1, consent=False)
    with pytest.raises(ConflictError, match="consent was withdrawn"):
        training_examples(ws, triage.artifact)
    again = curate(ws, "triage")
    assert t[11] not in again.card["traces"].values() and again.card["dropped"]["unconsented"] == 5
