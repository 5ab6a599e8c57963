"""Spot checks on a curated dataset: the stratified sample, the policy's quota, decisions from a file and at
a prompt (both through the CLI), the receipt with the reviewer, and the refusals training jobs rely on."""

from __future__ import annotations

import json
import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.errors import ConflictError, InvalidInput
from loopwright.learning.curate import curate
from loopwright.learning.feedback import Author, record_feedback
from loopwright.learning.review import _allocate, quota, require_reviewed, review_sample, review_status, training_examples
from loopwright.policy.loader import deployed_policy
from loopwright.policy.schema import LearningRules, PolicySet
from loopwright.registry.receipts import list_receipts
from loopwright.samples.bank.callcentre import adapter_traffic

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
runner = CliRunner()


def test_quota_and_allocation():
    policy = PolicySet(learning=LearningRules(review_min_share=0.05, review_min_items=50))
    assert [quota(n, policy) for n in (10, 50, 600, 2000)] == [10, 50, 50, 100]
    sizes = {("chargeback_grace", "en"): 200, ("chargeback_grace", "es"): 24, ("dispute_initiation", "vi"): 16, ("x", "vi"): 1}
    take = _allocate(sizes, 50)
    assert sum(take.values()) == 50 and all(v >= 1 for v in take.values()) and all(take[k] <= sizes[k] for k in sizes)
    assert take[("chargeback_grace", "en")] > take[("chargeback_grace", "es")] > take[("x", "vi")]
    assert _allocate({("a",): 1, ("b",): 1, ("c",): 1}, 2) == {("a",): 1, ("b",): 1, ("c",): 0}


@SQLITE
def test_review_gates_training_until_the_quota_is_met_under_the_rejection_threshold(triaged_bank, serve, tmp_path):
    ws = triaged_bank
    policy = deployed_policy(ws)
    served = serve(ws, adapter_traffic(5)[:24])
    for s in served:
        record_feedback(ws, s["trace_id"], author=Author("agent", "agt_dev.patel"), policy=policy, correction=s["intent"], consent=True)
    dataset = curate(ws, "triage").artifact
    status = review_status(ws, dataset)
    assert status.items == 24 and status.quota == 24 and not status.ready  # the bank's 50-item floor covers the lot
    with pytest.raises(ConflictError, match=r"has 0 of the 24 spot checks"):
        require_reviewed(ws, dataset)

    sample = review_sample(ws, dataset)
    assert len(sample) == 24 and {r["source"] for r in sample} == {"correction"}  # replayed rows are not re-checked
    every = {(r["intent"], r["language"]) for r in sample}
    few = review_sample(ws, dataset, policy=policy.model_copy(update={"learning": LearningRules(review_min_items=len(every))}))
    assert len(few) == len(every) and {(r["intent"], r["language"]) for r in few} == every  # one per stratum

    # a bad decisions file stores nothing
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"item": sample[0]["item"], "decision": "relabel", "label": "not_an_intent"}) + "\n")
    out = runner.invoke(app, ["learn", "review", dataset.ref, "--decisions", str(bad), "-w", str(ws.root)])
    assert out.exit_code == 1 and "relabel needs an intent the dataset knows" in str(out.exception)
    assert review_status(ws, dataset).reviewed == 0

    # a scripted reviewer: 20 approved, 1 relabelled, 3 rejected (12.5%: over the 10% threshold)
    decisions = [{"item": r["item"], "decision": "approve"} for r in sample[:20]]
    decisions.append({"item": sample[20]["item"], "decision": "relabel", "label": "dispute_initiation"})
    decisions += [{"item": r["item"], "decision": "reject"} for r in sample[21:]]
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in decisions))
    out = runner.invoke(app, ["learn", "review", dataset.ref, "--decisions", str(path), "--reviewer", "qa-bot", "--json", "-w", str(ws.root)])
    assert out.exit_code == 0, out.output
    tally = json.loads(out.stdout)
    assert (tally["reviewed"], tally["rejected"], tally["relabelled"], tally["ready"]) == (24, 3, 1, False)
    with pytest.raises(ConflictError, match=r"3 of 24 reviewed examples rejected \(12.5%"):
        training_examples(ws, dataset)
    with ws.session() as s:
        receipt = list_receipts(s, action="dataset.review")[-1]
    assert receipt.actor == "qa-bot" and receipt.payload.details.scripted and receipt.payload.details.reviewer == "qa-bot"
    assert receipt.payload.after.digest == dataset.digest and receipt.payload.after.quota == 24

    # a person at the prompt approves the first rejected item again: the latest decision counts
    first_rejected = sample[21]["item"]
    out = runner.invoke(app, ["learn", "review", dataset.ref, "--reviewer", "maria", "-w", str(ws.root)], input="")
    assert out.exit_code == 0 and "not ready for training yet" in out.output  # nothing left to sample: the tally only
    path.write_text(json.dumps({"item": first_rejected, "decision": "approve"}) + "\n")
    runner.invoke(app, ["learn", "review", dataset.ref, "--decisions", str(path), "--reviewer", "maria", "-w", str(ws.root)])
    assert require_reviewed(ws, dataset).rejected == 2  # 8.3%: under the threshold
    rows = training_examples(ws, dataset)
    new = [r for r in rows if r["source"] == "correction"]
    assert len(new) == 22 and sum(r["intent"] == "dispute_initiation" and r["text"] == sample[20]["text"] for r in new) == 1

    with pytest.raises(InvalidInput, match="reviewer's identity"):
        from loopwright.learning.review import Decision, record_decisions

        record_decisions(ws, dataset, [Decision(sample[0]["item"], "approve")], reviewer=" ", scripted=False)


@SQLITE
def test_an_interactive_review_records_a_person(triaged_bank, serve):
    ws = triaged_bank
    served = serve(ws, adapter_traffic(6)[:3])
    for s in served:
        record_feedback(ws, s["trace_id"], author=Author("agent", "agt_ana.ruiz"), policy=deployed_policy(ws), correction=s["intent"], consent=True)
    dataset = curate(ws, "triage").artifact
    out = runner.invoke(app, ["learn", "review", dataset.ref, "--reviewer", "maria", "-w", str(ws.root)], input="a\nl\nchargeback_grace\nr\n")
    assert out.exit_code == 0, out.output
    status = review_status(ws, dataset)
    assert (status.reviewed, status.approved, status.relabelled, status.rejected) == (3, 1, 1, 1)
    with ws.session() as s:
        receipt = list_receipts(s, action="dataset.review")[-1]
    assert receipt.payload.details.reviewer == "maria" and receipt.payload.details.scripted is False


def test_a_dataset_empty_or_holding_raw_personal_data_is_refused_in_one_line():
    from loopwright.learning.examples import check_clean

    rules = PolicySet().pii
    clean = {"text": "when does chargeback grace end for card <CARD_1>?", "intent": "chargeback_grace", "language": "en", "source": "correction"}
    check_clean("dataset/curated-triage@1", [clean], rules)  # a placeholder is not personal data
    with pytest.raises(InvalidInput, match=r"dataset/curated-triage@1 holds raw personal data in 1 example\(s\)"):
        check_clean("dataset/curated-triage@1", [clean, {**clean, "text": "call me on +1 503 555 0142 about the grace period"}], rules)
    with pytest.raises(InvalidInput, match="holds no examples"):
        check_clean("dataset/curated-triage@2", [], rules)
