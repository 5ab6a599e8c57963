"""The trace writer never dies of a record: what it cannot store becomes a minimal error trace, the batch is kept."""

from __future__ import annotations

from test_traces import trace

from loopwright.observe.traces import get_trace, list_traces
from loopwright.serving.trace_store import TraceWriter, load_traces


def test_a_record_with_a_lone_surrogate_is_stored_as_an_error_trace_and_its_batch_is_kept(workspace):
    writer = TraceWriter(workspace, batch=50)
    bad = trace(2, output="\ud800 fee", model="larkspur-\udfff")
    for record in (trace(1), bad, trace(3)):
        writer.submit(record)
    writer.flush()
    assert writer.alive
    assert [t["id"] for t in list_traces(workspace, tenant="acme")] == [trace(3)["id"], bad["id"], trace(1)["id"]]
    stored = get_trace(workspace, bad["id"], tenant="acme")
    assert stored["outcome"] == "error" and stored["error"]["type"] == "TraceWriteError"
    assert "UnicodeEncodeError" in stored["error"]["message"], stored
    assert "output" not in stored and stored["principal"]["tenant"] == "acme"
    # and the writer goes on writing
    writer.submit(trace(4))
    writer.flush()
    assert get_trace(workspace, trace(4)["id"], tenant="acme")["output"] == "answer 4"
    writer.close()
    assert not writer.alive
    # every reader of the typed record (reports, canary analysis, the demo) reads the error trace too
    typed = {t.id: t for t in load_traces(workspace)}
    assert typed[bad["id"]].outcome == "error" and typed[bad["id"]].error.type == "TraceWriteError"


def test_records_the_database_refuses_are_replaced_one_by_one(workspace):
    writer = TraceWriter(workspace)
    writer.submit(trace(1))
    writer.flush()
    broken = {"id": "tr_broken", "ts": "2026-11-01T01:00:00.000000Z"}  # no principal, channel, ...
    long_tenant = trace(6, tenant="t" * 500)
    for record in (trace(5), trace(1, output="a duplicate id"), broken, long_tenant, trace(7)):
        writer.submit(record)
    writer.flush()
    assert writer.alive
    ids = {t["id"] for t in list_traces(workspace, tenant=None, limit=100)}
    assert {trace(1)["id"], trace(5)["id"], trace(7)["id"], "tr_broken", long_tenant["id"]} <= ids
    assert get_trace(workspace, trace(1)["id"], tenant=None)["output"] == "answer 1"  # the first one stands
    assert "KeyError" in get_trace(workspace, "tr_broken", tenant=None)["error"]["message"]
    assert "longer than" in get_trace(workspace, long_tenant["id"], tenant=None)["error"]["message"]
    writer.close()


def test_a_model_name_longer_than_its_column_is_kept_whole_in_the_record(workspace):
    writer = TraceWriter(workspace)
    writer.submit(trace(1, model="m" * 180))
    writer.close()
    assert list_traces(workspace, tenant="acme")[0]["model"] == "m" * 100
    assert get_trace(workspace, trace(1)["id"], tenant="acme")["model"] == "m" * 180
