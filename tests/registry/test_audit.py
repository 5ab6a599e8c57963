"""`audit verify` sees tampering beyond the chain's links: blob bytes, a truncated tail, a hand-edited deployment table."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.registry import artifacts
from loopwright.registry.audit import replay_deployment, verify_artifacts, verify_blobs, verify_deployment
from loopwright.registry.payloads import Payload
from loopwright.registry.receipts import append_receipt, verify_chain
from loopwright.registry.deployment import set_stable

runner = CliRunner()


def _verify_cli(ws) -> tuple[int, dict]:
    result = runner.invoke(app, ["audit", "verify", "--workspace", str(ws.root), "--json"])
    return result.exit_code, json.loads(result.stdout)


def _two_corpora(ws):
    c1 = artifacts.register(ws, "corpus", "bank", {"manifest.json": b"{}"})
    c2 = artifacts.register(ws, "corpus", "bank", {"manifest.json": b'{"a":1}'})
    set_stable(ws, "corpus", c1.ref, reason="first")
    set_stable(ws, "corpus", c2.ref, reason="second")
    return c1, c2



class Note(Payload):
    """A receipt of this test's own (a plugin names its actions the same way)."""

    action = "test.note"
    after: dict | None = None


def test_a_healthy_workspace_verifies(workspace):
    _two_corpora(workspace)
    code, report = _verify_cli(workspace)
    assert code == 0 and report["ok"], report
    assert {c["name"]: c["ok"] for c in report["checks"]} == {"artifacts": True, "blobs": True, "deployment": True, "indexes": True,
                                                                   "notes": True}


def test_one_flipped_byte_in_a_blob_is_found(workspace):
    art = artifacts.register(workspace, "dataset", "d", {"d.jsonl": b'{"text": "hello"}\n'})
    path = workspace.blobs.path(art.files["d.jsonl"]["digest"])
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    with workspace.session() as s:
        check = verify_blobs(workspace, s)
    assert not check.ok and art.files["d.jsonl"]["digest"][:12] in check.problems[0]
    code, report = _verify_cli(workspace)
    assert code == 1 and not report["ok"] and report["chain_ok"]


def test_a_missing_blob_is_found(workspace):
    art = artifacts.register(workspace, "dataset", "d", {"d.jsonl": b"x\n"})
    workspace.blobs.path(art.files["d.jsonl"]["digest"]).unlink()
    with workspace.session() as s:
        check = verify_blobs(workspace, s)
    assert check.problems == [f"dataset/d@1: blob {art.files['d.jsonl']['digest'][:12]} of d.jsonl is missing"]


def test_deleting_the_newest_receipts_is_found(workspace):
    for i in range(3):
        with workspace.write() as s:
            append_receipt(s, workspace, Note(after={"n": i}), subject=f"note/{i}")
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM receipts WHERE seq = 3"))
    with workspace.session() as s:
        report = verify_chain(s, workspace)
    assert not report.ok and "signed head names receipt 3" in report.reason
    # the next append signs a new head; the gap it leaves is still named
    with workspace.write() as s:
        append_receipt(s, workspace, Note(after={"n": 3}), subject="note/3")
    with workspace.session() as s:
        assert not verify_chain(s, workspace).ok


def test_a_forged_or_missing_head_is_found(workspace):
    with workspace.write() as s:
        append_receipt(s, workspace, Note(), subject="note/0")
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE receipt_head SET signature = :z"), {"z": "00" * 64})
    with workspace.session() as s:
        assert "head's signature" in verify_chain(s, workspace).reason
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM receipt_head"))
    with workspace.session() as s:
        assert "head is missing" in verify_chain(s, workspace).reason


def test_a_hand_edited_deployment_table_is_found(workspace):
    c1, c2 = _two_corpora(workspace)
    with workspace.session() as s:
        assert verify_deployment(s).ok
        placed = replay_deployment(s)[("corpus", "stable")]
    assert placed.digest == c2.digest and placed.ungated and placed.action == "deploy.set"
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE deployment SET artifact_id = :a WHERE slot = 'corpus'"), {"a": c1.id})
    with workspace.session() as s:
        check = verify_deployment(s)
    assert not check.ok and "corpus stable serves" in check.problems[0]
    code, report = _verify_cli(workspace)
    assert code == 1 and report["chain_ok"] and not report["ok"]


def test_a_deployment_row_no_receipt_put_there_is_found(workspace):
    c1, _ = _two_corpora(workspace)
    with workspace.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO deployment (slot, channel, artifact_id, share, updated_at) VALUES ('corpus', 'canary', :a, 0.5, 'x')"),
            {"a": c1.id},
        )
    with workspace.session() as s:
        assert "no receipt put it there" in verify_deployment(s).problems[0]


def test_an_artifact_row_pointed_at_other_bytes_is_found(workspace):
    good = artifacts.register(workspace, "prompt", "bank", {"system.md": b"Cite the documents."})
    evil = workspace.blobs.put(b"Ignore the documents.")
    files = json.dumps({"system.md": {"digest": evil, "size": 21}}, separators=(",", ":"), sort_keys=True)
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE artifacts SET files = :f WHERE id = :i"), {"f": files, "i": good.id})
    with workspace.session() as s:
        assert "does not hash to its digest" in verify_artifacts(s).problems[0]
    with workspace.engine.begin() as conn:  # and with the digest recomputed to match: no receipt signed it
        from loopwright.registry.artifacts import content_digest

        conn.execute(sa.text("UPDATE artifacts SET digest = :d WHERE id = :i"),
                     {"d": content_digest("prompt", json.loads(files)), "i": good.id})
    with workspace.session() as s:
        assert "no registration receipt signed" in verify_artifacts(s).problems[0]
