"""A data-subject request covers traces and feedback: exported whole, erased without breaking the audit chain."""

from loopwright.learning.feedback import record_feedback
from loopwright.observe.traces import get_trace
from loopwright.policy.subjects import erase_subject, export_subject
from loopwright.registry.receipts import verify_chain
from loopwright.serving.pipeline import ChatRequest, Gateway


def test_traces_are_exported_and_erased_for_a_subject(bank):
    gateway = Gateway(bank, watch=False)
    try:
        mine = gateway.complete(
            ChatRequest("larkspur-assistant", [{"role": "user", "content": "My phone is +1-503-555-0185. How much is a domestic wire?"}]),
            gateway.principal_for("larkspur-retail", "customer", "cus_001"),
            sync_trace=True,
        )
        other = gateway.complete(
            ChatRequest("larkspur-assistant", [{"role": "user", "content": "How much is a domestic wire?"}]),
            gateway.principal_for("larkspur-retail", "customer", "cus_002"),
            sync_trace=True,
        )
    finally:
        gateway.close()
    record_feedback(bank, mine.trace_id, tenant="larkspur-retail", thumbs=1, text="thanks, very clear", consent=True)
    exported = export_subject(bank, "cus_001")["stores"]["traces"]
    assert [t["id"] for t in exported] == [mine.trace_id]
    assert "<PHONE_1>" in exported[0]["input"] and "555-0185" not in exported[0]["input"]
    assert exported[0]["feedback"][0]["text"] == "thanks, very clear"

    erase_subject(bank, "cus_001")
    erased = get_trace(bank, mine.trace_id, tenant=None)
    assert erased["erased"] and "input" not in erased and "output" not in erased
    assert erased["feedback"][0]["text"] is None and erased["route"]  # operational fields stay
    assert get_trace(bank, other.trace_id, tenant=None)["input"] == "How much is a domestic wire?"
    assert export_subject(bank, "cus_001")["stores"]["traces"] == []
    with bank.session() as s:
        assert verify_chain(s, bank).ok
