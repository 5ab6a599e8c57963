"""The typed trace: stored rows (with or without `schema_version`) read back into it and write out unchanged."""

import pytest
from pydantic import ValidationError

from loopwright.serving.streaming import HoldBack
from loopwright.serving.trace import SCHEMA_VERSION, Trace

# A governed answer's record as the dict-writing pipeline stored it (before schema_version existed).
STORED = {
    "id": "tr_0123456789abcdef01234567", "ts": "2026-11-29T08:00:00.000000Z",
    "principal": {"tenant": "larkspur-retail", "role": "customer", "scopes": ["retail"], "subject": "cus_001", "key_id": "k1"},
    "channel": "stable", "deployment_version": 7, "bundle": {"corpus": {"ref": "corpus/bank@2", "digest": "ab" * 32}},
    "canary_slots": [], "flags": {}, "model": "larkspur-assistant", "purpose": "serve", "cache": {"hit": False},
    "policies": [{"name": "pii.mask", "rule": "pii.actions", "reason": "masked PHONE_NUMBER"}],
    "validators": [{"name": "grounding", "passed": True, "rule": "validators.grounding", "reason": "ok", "action": "allow"}],
    "tools": [{"name": "freeze_card", "status": "skipped", "reason": "no customer in the caller's context"}],
    "input": "What is the APY?", "pii": {"entities": {"PHONE_NUMBER": 1}, "applied": [], "refused": []},
    "triage": {"intent": "savings_rates", "confidence": 0.93, "margin": 0.8, "top": [["savings_rates", 0.93]], "model": "model/triage@1"},
    "route": {"tier": "large", "escalated": False, "reason": "default tier"},
    "retrieval": {"commit": "c" * 64, "commit_ref": "corpus/bank@2", "status": "ok", "decline": False, "reason": "",
                  "fingerprint": "f" * 64, "spans": [{"doc_id": "savings", "start": 0, "end": 30, "score": 0.9}],
                  "stale": [], "timings_ms": {"lexical": 1.0}},
    "tokens": {"in": 120, "out": 20},
    "citations": [{"n": 1, "doc_id": "savings", "title": "Savings", "commit": "c" * 64, "start": 0, "end": 30,
                   "text": "The Larkspur Saver pays 3.80%.", "score": 0.9}],
    "output": "The Larkspur Saver pays 3.80%. [1]", "tier": "large", "outcome": "answered", "prompt_bundle": None,
    "cost": 0.0012, "stages": {"auth": 0.1, "triage": 3.0}, "latency_ms": 12.5,
}


def test_a_stored_record_reads_back_and_writes_out_as_it_was():
    trace = Trace.from_dict(STORED)
    assert trace.schema_version == SCHEMA_VERSION == 1
    assert trace.intent == "savings_rates" and not trace.escalated and trace.tokens.in_ == 120
    assert trace.citations[0].text.endswith("3.80%.") and trace.tools[0].status == "skipped"
    assert trace.to_dict() == {**STORED, "schema_version": 1}  # nothing added, nothing lost
    assert Trace.from_dict(trace.to_dict()) == trace


def test_an_erased_record_reads_and_a_record_without_its_identity_does_not():
    erased = {k: v for k, v in STORED.items() if k not in ("input", "output", "citations", "pii")} | {"erased": True}
    trace = Trace.from_dict(erased)
    assert trace.erased and trace.output is None and trace.citations == []
    with pytest.raises(ValidationError):
        Trace.from_dict({k: v for k, v in STORED.items() if k != "channel"})


@pytest.mark.parametrize(("deltas", "released"), [
    # A sentence leaves once the next one has begun; its citation marks go with it.
    (["The fee is $25. [1]", " Late", " payments"], ["The fee is $25. [1] ", "Late payments"]),
    # A decimal point or an unfinished sentence holds everything back.
    (["The APY is 3.", "80% on the Saver"], ["The APY is 3.80% on the Saver"]),
    (["One. Two! Three? Four"], ["One. Two! Three? ", "Four"]),
    (["Line one\n", "Line two"], ["Line one\n", "Line two"]),
])
def test_the_hold_back_window_releases_whole_sentences(deltas, released):
    window, out = HoldBack(), []
    for delta in deltas:
        window.feed(delta)
        if piece := window.ready():
            out.append(piece)
    out.append(window.rest())
    assert out == released
