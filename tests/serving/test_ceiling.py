"""The sensitivity ceiling on the request path: above it a restricted source is summarised, never quoted,
in any field of the response (answer, citations, verdicts and policies, streamed text) or its trace."""

import json
import re

from loopwright.serving.pipeline import ChatRequest, Gateway

QUESTION = "What are the LRS-3 score band cutoffs?"
CUTOFFS = ("612", "688")  # figures of the restricted scoring note


def _quotes_cutoffs(text: str) -> bool:
    """The figures as numbers: not inside an id or a digest, nor part of a decimal (a latency of 612.4 ms, a
    confidence of 0.688), which a loaded machine makes often enough to fail the test by chance."""
    return any(re.search(rf"(?<![\d.])\b{n}\b(?!\.\d)", text) for n in CUTOFFS)


def _request():
    return ChatRequest("larkspur-assistant", [{"role": "user", "content": QUESTION}])


def _ask(gateway, role):
    return gateway.complete(_request(), gateway.principal_for("larkspur-staff", role, None))


def test_restricted_source_above_the_ceiling_is_summarised(bank):
    gateway = Gateway(bank, watch=False)
    try:
        agent, admin = _ask(gateway, "agent").trace, _ask(gateway, "admin").trace
    finally:
        gateway.close()
    # Both retrieve the restricted scoring note (the staff tenant's scope reaches it) ...
    assert "credit-risk-scoring-note" in {s.doc_id for s in agent.retrieval.spans}
    # ... but an agent's ceiling is `internal`: the answer is a summary without the figures, and the trace says why.
    assert not any(n in agent.output for n in CUTOFFS)
    assert any(p.name == "sensitivity.ceiling" for p in agent.policies)
    ceiling = next(v for v in agent.validators if v.name == "sensitivity_ceiling")
    assert not ceiling.passed
    # An admin's ceiling is `restricted`: the same question is answered verbatim from the note.
    assert "612" in admin.output
    assert not any(p.name == "sensitivity.ceiling" for p in admin.policies)


def test_the_ceiling_covers_every_field_of_the_response_and_the_stream(bank):
    gateway = Gateway(bank, watch=False)
    try:
        agent = _ask(gateway, "agent")
        streamed = gateway.stream(_request(), gateway.principal_for("larkspur-staff", "agent", None))
        chunks = list(streamed)
        admin = _ask(gateway, "admin")
    finally:
        gateway.close()
    # Nothing the agent gets back, nor what its trace stores, carries the note's figures: the citations of
    # the restricted note say it is withheld instead of quoting it (on main they quoted it verbatim).
    for completion in (agent, streamed.completion):
        sent = json.dumps({"text": completion.text, "loopwright": completion.loopwright})
        stored = json.dumps(completion.trace.to_dict())
        assert not _quotes_cutoffs(sent) and not _quotes_cutoffs(stored)
        restricted = [c for c in completion.loopwright["citations"] if c["doc_id"] == "credit-risk-scoring-note"]
        assert restricted and all(c["text"] is None and "ceiling" in c["withheld"] for c in restricted)
    assert not _quotes_cutoffs("".join(chunks))
    assert "".join(chunks) == agent.text  # the stream settled as the buffered call did: summarised
    # The admin's citations still quote the note.
    quoted = [c for c in admin.loopwright["citations"] if c["doc_id"] == "credit-risk-scoring-note"]
    assert quoted and any("612" in c["text"] for c in quoted) and "withheld" not in quoted[0]
