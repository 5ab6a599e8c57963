"""A release lands on a running server: the FlexPay corpus fix, picked up without a restart, traced both ways."""

from __future__ import annotations

import pytest
from live import lw, wait_for_version

from loopwright.corpus import commits
from loopwright.registry.deployment import get_deployment, set_stable

LATE_FEE = "What is the late fee for FlexPay 2.0?"
AMOUNTS = "What purchase amounts can I split with FlexPay?"


def test_flexpay_answers_change_with_the_corpus_fix_without_a_restart(live):
    server_before = live.server
    before = {q: live.ask(q) for q in (LATE_FEE, AMOUNTS)}
    old = {q: live.trace(lw(r)["trace_id"]) for q, r in before.items()}

    # before: FlexPay 2.0 is uncertified, so the late-fee question's best evidence is the retired 1.0 terms
    record = old[LATE_FEE]
    assert record["outcome"] == "declined" and lw(before[LATE_FEE])["declined"] is True
    assert "stale" in record["retrieval"]["reason"] and "flexpay-1-0" in record["retrieval"]["reason"]
    assert record["policies"][0]["reason"] == record["retrieval"]["reason"]
    assert "$15" not in before[LATE_FEE].choices[0].message.content
    assert "flexpay-2-0" not in [c["doc_id"] for c in lw(before[AMOUNTS])["citations"]]

    commits.stage_certify(live.ws, "flexpay-2-0")
    fix = commits.commit(live.ws, "Certify FlexPay 2.0 terms", author="product-policy")
    set_stable(live.ws, "corpus", fix.ref, reason="FlexPay 2.0 certified")
    wait_for_version(live, get_deployment(live.ws).version)

    after = {q: live.ask(q) for q in (LATE_FEE, AMOUNTS)}
    new = {q: live.trace(lw(r)["trace_id"]) for q, r in after.items()}
    assert live.server is server_before  # the same process and app served both
    for q in (LATE_FEE, AMOUNTS):
        assert after[q].choices[0].message.content != before[q].choices[0].message.content, q
        assert new[q]["retrieval"]["fingerprint"] != old[q]["retrieval"]["fingerprint"], q
        assert new[q]["bundle"]["corpus"] == {"ref": fix.ref, "digest": fix.digest}
        assert old[q]["bundle"]["corpus"]["digest"] != fix.digest
        assert new[q]["retrieval"]["commit_ref"] == fix.ref
        assert new[q]["deployment_version"] > old[q]["deployment_version"]

    record = new[LATE_FEE]
    answer = after[LATE_FEE].choices[0].message.content
    assert record["outcome"] == "answered" and lw(after[LATE_FEE])["declined"] is False
    assert record["retrieval"]["status"] == "ok" and record["retrieval"]["reason"] == "fresh, certified evidence in scope"
    assert record["policies"] == []
    assert "$15" in answer
    cited = {c["doc_id"] for c in lw(after[LATE_FEE])["citations"]}
    assert cited == {"flexpay-2-0"}
    assert "$100" in after[AMOUNTS].choices[0].message.content and "$5,000" in after[AMOUNTS].choices[0].message.content

    # rolling the corpus back is a pointer swap the running server also picks up
    set_stable(live.ws, "corpus", old[LATE_FEE]["bundle"]["corpus"]["ref"], reason="roll back")
    wait_for_version(live, get_deployment(live.ws).version)
    again = live.ask(LATE_FEE)
    assert lw(again)["declined"] is True
    assert live.trace(lw(again)["trace_id"])["retrieval"]["fingerprint"] == old[LATE_FEE]["retrieval"]["fingerprint"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_request_is_served_by_one_bundle_even_if_a_release_lands_mid_request(live, monkeypatch):
    """The bundle is resolved once: a corpus switch during retrieval does not mix versions in one trace."""
    first = get_deployment(live.ws).stable("corpus")
    commits.stage_certify(live.ws, "flexpay-2-0")
    fix = commits.commit(live.ws, "Certify FlexPay 2.0 terms")
    gateway = live.gateway
    search = gateway.retriever.search
    switched = []

    def search_during_release(*args, **kwargs):
        if not switched:
            set_stable(live.ws, "corpus", fix.ref)
            switched.append(gateway.watcher.refresh())  # the watcher sees the new version mid-request
        return search(*args, **kwargs)

    monkeypatch.setattr(gateway.retriever, "search", search_during_release)
    record = live.trace(lw(live.ask(LATE_FEE))["trace_id"])
    assert switched == [True] and gateway.watcher.current.stable("corpus").digest == fix.digest
    assert record["bundle"]["corpus"]["digest"] == first.digest == record["retrieval"]["commit"]
    assert record["outcome"] == "declined"
    monkeypatch.undo()
    assert live.trace(lw(live.ask(LATE_FEE))["trace_id"])["retrieval"]["commit"] == fix.digest
