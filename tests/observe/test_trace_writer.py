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


def test_traces_submitted_within_an_interval_are_one_transaction_and_every_one_is_stored(workspace):
    import threading

    import sqlalchemy as sa

    commits = []
    sa.event.listen(workspace.engine, "commit", lambda conn: commits.append(1))
    writer = TraceWriter(workspace, interval_s=0.5)  # long enough that 8 threads' 400 submits fall in one interval

    def submit(base: int) -> None:
        for n in range(base, base + 50):
            writer.submit(trace(n))

    threads = [threading.Thread(target=submit, args=(1 + 50 * i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()  # cuts the gathering short: it does not wait the interval out
    assert len(commits) <= 2, len(commits)  # a queue with a wake-up per trace had made tens of transactions
    assert len(list_traces(workspace, tenant="acme", limit=1000)) == 400


def test_close_writes_what_is_still_gathering(workspace):
    writer = TraceWriter(workspace, interval_s=60.0)  # close must not wait for the interval
    for n in range(1, 31):
        writer.submit(trace(n))
    writer.close()
    assert {t["id"] for t in list_traces(workspace, tenant="acme", limit=100)} == {trace(n)["id"] for n in range(1, 31)}


def test_a_full_queue_holds_the_caller_back_and_loses_nothing(workspace):
    writer = TraceWriter(workspace, max_queue=5, interval_s=0.01)
    for n in range(1, 41):
        writer.submit(trace(n))
    writer.close()
    assert len(list_traces(workspace, tenant="acme", limit=100)) == 40
