"""The receipt chain is signed, linear under concurrent writers, and any tampering is named."""

import multiprocessing
import os
import threading

import pytest
import sqlalchemy as sa

from loopwright.registry import artifacts
from loopwright.registry.payloads import DeployNote, DeploySet, Placed
from loopwright.registry.receipts import append_receipt, get_receipt, list_receipts, verify_chain
from loopwright.workspace import Workspace


def _receipt(ws, n):
    with ws.write() as s:
        payload = DeploySet(before=None, after=Placed(stable=f"thing/t@{n}", digest=f"{n:064x}"), details=DeployNote(reason="t", deployment_version=n))
        return append_receipt(s, ws, payload, subject=f"thing/{n}")


def test_chain_links_and_verifies(workspace):
    receipts = [_receipt(workspace, i) for i in range(5)]
    assert [r.seq for r in receipts] == [1, 2, 3, 4, 5]
    assert all(b.prev_digest == a.digest for a, b in zip(receipts, receipts[1:]))
    with workspace.session() as s:
        assert verify_chain(s, workspace).ok
        assert get_receipt(s, receipts[2].id).digest == receipts[2].digest
        assert get_receipt(s, "3").digest == receipts[2].digest


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("actor", "mallory", "fields were altered"),
        ("after", '{"n":99}', "fields were altered"),
        ("details", '{"why":"x"}', "details were altered"),
        ("signature", "00" * 64, "signature"),
    ],
)
def test_tampering_names_the_first_broken_receipt(workspace, column, value, reason):
    receipts = [_receipt(workspace, i) for i in range(4)]
    with workspace.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE receipts SET {column} = :v WHERE seq = 3"), {"v": value})
    with workspace.session() as s:
        report = verify_chain(s, workspace)
    assert not report.ok
    assert report.broken_seq == 3 and report.broken_id == receipts[2].id
    assert reason in report.reason


def test_removed_receipt_is_detected(workspace):
    for i in range(4):
        _receipt(workspace, i)
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM receipts WHERE seq = 2"))
    with workspace.session() as s:
        report = verify_chain(s, workspace)
    assert not report.ok and report.broken_seq == 3


def test_erased_details_keep_the_chain_whole(workspace):
    for i in range(3):
        _receipt(workspace, i)
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE receipts SET details = NULL WHERE seq = 2"))
    with workspace.session() as s:
        assert verify_chain(s, workspace).ok


def test_concurrent_threads_never_fork_the_chain(workspace):
    errors = []

    def work(k):
        try:
            for i in range(10):
                _receipt(workspace, k * 100 + i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with workspace.session() as s:
        assert len(list_receipts(s)) == 60
        assert verify_chain(s, workspace).ok


def _process_writer(root, url, k):
    os.environ["LOOPWRIGHT_DATABASE_URL"] = url
    ws = Workspace.open(root)
    for i in range(8):
        artifacts.register(ws, "dataset", f"p{k}", {"d.jsonl": f"{k}-{i}".encode()})
    ws.close()


def test_concurrent_processes_never_fork_the_chain(workspace, database_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(workspace.root), database_url, k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with workspace.session() as s:
        assert len(list_receipts(s)) == 32
        assert verify_chain(s, workspace).ok
    assert {a.version for a in artifacts.list_artifacts(workspace, name="p0")} == set(range(1, 9))
