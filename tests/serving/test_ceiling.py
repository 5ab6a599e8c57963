"""The sensitivity ceiling on the request path: above it a restricted source is summarised, never quoted."""

from loopwright.serving.pipeline import ChatRequest, Gateway

QUESTION = "What are the LRS-3 score band cutoffs?"


def _ask(gateway, role):
    return gateway.complete(
        ChatRequest("larkspur-assistant", [{"role": "user", "content": QUESTION}]),
        gateway.principal_for("larkspur-staff", role, None),
    ).record


def test_restricted_source_above_the_ceiling_is_summarised(bank):
    gateway = Gateway(bank, watch=False)
    try:
        agent, admin = _ask(gateway, "agent"), _ask(gateway, "admin")
    finally:
        gateway.close()
    # Both retrieve the restricted scoring note (the staff tenant's scope reaches it) ...
    assert "credit-risk-scoring-note" in {s["doc_id"] for s in agent["retrieval"]["spans"]}
    # ... but an agent's ceiling is `internal`: the answer is a summary without the figures, and the trace says why.
    assert "612" not in agent["output"] and "688" not in agent["output"]
    assert any(p["name"] == "sensitivity.ceiling" for p in agent["policies"])
    ceiling = next(v for v in agent["validators"] if v["name"] == "sensitivity_ceiling")
    assert not ceiling["passed"]
    # An admin's ceiling is `restricted`: the same question is answered verbatim from the note.
    assert "612" in admin["output"]
    assert not any(p["name"] == "sensitivity.ceiling" for p in admin["policies"])
