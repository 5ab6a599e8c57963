"""Trace storage: written off the response path in batches, drained on close, queried per tenant, updated by feedback."""

from __future__ import annotations

import threading

import pytest

from loopwright.errors import InvalidInput, NotFound
from loopwright.learning.feedback import record_feedback
from loopwright.observe.traces import get_trace, list_traces
from loopwright.serving.trace_store import TraceWriter, load_records


def trace(n: int, *, tenant: str = "acme", ts: str | None = None, intent: str = "fees", outcome: str = "answered", **extra) -> dict:
    """A trace record as the gateway writes it (only the fields storage reads, plus `extra`)."""
    return {
        "id": f"tr_{n:024d}",
        "ts": ts or f"2026-11-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
        "principal": {"tenant": tenant, "role": "customer", "scopes": [], "subject": None, "key_id": "key_1"},
        "channel": "stable",
        "deployment_version": 3,
        "model": "larkspur-assistant",
        "triage": {"intent": intent, "confidence": 0.9},
        "route": {"tier": "small", "escalated": False, "reason": "confident FAQ"},
        "cache": {"hit": False},
        "outcome": outcome,
        "latency_ms": 12.5,
        "cost": 0.0001,
        "output": f"answer {n}",
        **extra,
    }


def write(ws, records) -> None:
    writer = TraceWriter(ws)
    for r in records:
        writer.submit(r)
    writer.close()


def test_close_drains_every_queued_trace(workspace):
    writer = TraceWriter(workspace, batch=7)
    threads = [threading.Thread(target=lambda k=k: [writer.submit(trace(k * 100 + i)) for i in range(100)]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()  # no flush first: close alone must drain the queue
    assert len(list_traces(workspace, tenant="acme", limit=1000)) == 400


def test_flush_waits_until_queued_traces_are_readable(workspace):
    writer = TraceWriter(workspace)
    writer.submit(trace(1, extra_field={"kept": ["as", "json"]}))
    writer.flush()
    record = get_trace(workspace, trace(1)["id"], tenant="acme")
    assert record["extra_field"] == {"kept": ["as", "json"]} and record["feedback"] == []
    writer.close()


def test_another_tenants_trace_is_not_found(workspace):
    write(workspace, [trace(1, tenant="acme"), trace(2, tenant="globex")])
    assert get_trace(workspace, trace(1)["id"], tenant="acme")["output"] == "answer 1"
    with pytest.raises(NotFound) as other:
        get_trace(workspace, trace(1)["id"], tenant="globex")
    with pytest.raises(NotFound) as missing:
        get_trace(workspace, "tr_missing", tenant="globex")
    assert other.value.message == f"no trace {trace(1)['id']!r}" and missing.value.message == "no trace 'tr_missing'"
    assert get_trace(workspace, trace(2)["id"], tenant=None)["principal"]["tenant"] == "globex"  # the operator's view
    assert [t["id"] for t in list_traces(workspace, tenant="globex")] == [trace(2)["id"]]
    assert len(list_traces(workspace, tenant=None)) == 2


def test_list_filters_pages_and_validates(workspace):
    records = [trace(i, intent="fees" if i % 2 else "flexpay", outcome="declined" if i % 3 == 0 else "answered") for i in range(10)]
    write(workspace, records)
    ids = [r["id"] for r in records]
    assert [t["id"] for t in list_traces(workspace, tenant="acme")] == ids[::-1]
    assert {t["intent"] for t in list_traces(workspace, tenant="acme", intent="fees")} == {"fees"}
    assert [t["id"] for t in list_traces(workspace, tenant="acme", outcome="declined")] == [ids[9], ids[6], ids[3], ids[0]]
    assert [t["id"] for t in list_traces(workspace, tenant="acme", since=records[7]["ts"])] == ids[:6:-1]
    assert [t["id"] for t in list_traces(workspace, tenant="acme", until=records[2]["ts"])] == ids[1::-1]
    pages = [list_traces(workspace, tenant="acme", limit=4, offset=o) for o in (0, 4, 8)]
    assert [len(p) for p in pages] == [4, 4, 2] and [t["id"] for p in pages for t in p] == ids[::-1]
    summary = list_traces(workspace, tenant="acme", limit=1)[0]
    assert set(summary) == {"id", "ts", "tenant", "subject", "channel", "model", "conversation", "intent", "tier", "cache_hit", "outcome",
                            "latency_ms", "cost"}
    for bad in ({"outcome": "great"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}):
        with pytest.raises(InvalidInput):
            list_traces(workspace, tenant="acme", **bad)


def test_list_filters_by_language_served_version_and_customer(workspace):
    def served_by(ref: str, digest: str) -> dict:
        return {"corpus": {"ref": ref, "digest": digest}}

    records = [
        trace(1, language="es", bundle=served_by("corpus/bank@1", "aa" * 32)),
        trace(2, language="en", bundle=served_by("corpus/bank@2", "bb" * 32)),
        trace(3, language="vi", bundle=served_by("corpus/bank@2", "bb" * 32), principal={"tenant": "acme", "subject": "cus_1"}),
    ]
    write(workspace, records)
    found = lambda **kw: [t["id"] for t in list_traces(workspace, tenant="acme", **kw)]  # noqa: E731
    assert found(language="es") == [records[0]["id"]] and found(language="e%") == []  # a pattern character is text
    assert found(artifact="corpus/bank@2") == [records[2]["id"], records[1]["id"]]
    assert found(artifact="bbbbbbbb") == found(artifact="corpus/bank@2")  # a digest prefix
    assert found(artifact="corpus/bank@") == [] and found(artifact="corpus/bank@1") == [records[0]["id"]]
    assert found(subject="cus_1") == [records[2]["id"]] and found(subject="cus_%") == []
    assert found(language="vi", artifact="corpus/bank@2") == [records[2]["id"]]


def test_feedback_sets_the_outcome_and_keeps_text_only_with_consent(workspace):
    write(workspace, [trace(1), trace(2), trace(3, outcome="declined"), trace(4)])
    t1, t2, t3, t4 = (trace(i)["id"] for i in (1, 2, 3, 4))
    assert record_feedback(workspace, t1, tenant="acme", thumbs=1) == "accepted"
    assert record_feedback(workspace, t2, tenant="acme", score=2.9, text="wrong rate", consent=False) == "defect"
    assert record_feedback(workspace, t4, tenant="acme", score=3) == "accepted"
    assert record_feedback(workspace, t3, tenant="acme", thumbs=1) == "declined"  # a decline stays a decline
    assert record_feedback(workspace, t1, tenant="acme", text="thanks", consent=True) == "accepted"  # text alone: no verdict
    assert record_feedback(workspace, t1, tenant="acme", thumbs=-1) == "defect"  # the latest verdict wins
    record = get_trace(workspace, t2, tenant="acme")
    assert record["outcome"] == "defect" and record["feedback"][0]["text"] is None and record["feedback"][0]["consent"] is False
    assert [f["text"] for f in get_trace(workspace, t1, tenant="acme")["feedback"]] == [None, "thanks", None]
    assert {r["id"]: r["outcome"] for r in load_records(workspace)} == {t1: "defect", t2: "defect", t3: "declined", t4: "accepted"}

    with pytest.raises(NotFound):
        record_feedback(workspace, t1, tenant="globex", thumbs=1)
    for bad in ({}, {"thumbs": 0}, {"thumbs": 2}, {"score": -1}, {"score": 5.5}):
        with pytest.raises(InvalidInput):
            record_feedback(workspace, t1, tenant="acme", **bad)
    assert get_trace(workspace, t1, tenant="acme")["outcome"] == "defect"  # refused feedback changed nothing


def test_load_records_windows_and_ids(workspace):
    records = [trace(i) for i in range(6)]
    write(workspace, records)
    assert [r["id"] for r in load_records(workspace)] == [r["id"] for r in records]  # oldest first
    assert [r["id"] for r in load_records(workspace, since=records[2]["ts"], until=records[4]["ts"])] == [records[2]["id"], records[3]["id"]]
    assert [r["id"] for r in load_records(workspace, ids=[records[5]["id"], records[0]["id"]])] == [records[0]["id"], records[5]["id"]]
    assert list(load_records(workspace, ids=[])) == []
