"""Corpus commits: staging across invocations, commit/log/diff/show/revert, receipts, and bad input changing nothing."""

from __future__ import annotations

import json
import sys
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

from loopwright.cli import corpus as corpus_cli
from loopwright.corpus import commits
from loopwright.corpus.index import CorpusIndex
from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.workspace import Workspace


def _snapshot(ws):
    """Everything a failed command must leave as it was."""
    indexes = ws.state_dir / "indexes"
    return (
        commits.status(ws),
        [c.digest for c in commits.log(ws)],
        sorted(p.name for p in indexes.iterdir()) if indexes.is_dir() else [],
    )


@pytest.fixture
def docs(tmp_path, make_doc):
    folder = tmp_path / "docs"
    make_doc(folder, "late-fees", "A $15 late fee applies when an installment is not paid by its due date.")
    make_doc(folder, "branch-hours", "Branches open 9am to 5pm on weekdays.\n\n## Saturday\n\nSaturday hours are 9am to 1pm.")
    make_doc(folder, "draft-offer", "A 5% bonus rate is planned for spring.", certified=False)
    return folder


def test_stage_commit_log_show_diff(workspace, docs, make_doc):
    assert commits.stage_add(workspace, [docs]) == ["branch-hours", "draft-offer", "late-fees"]
    # a separate invocation (a new Workspace object) sees the staging
    again = Workspace.open(workspace.root)
    st = commits.status(again)
    assert st["head"] is None and st["changes"]["added"] == ["branch-hours", "draft-offer", "late-fees"]
    c1 = commits.commit(again, "Initial documents", author="ana")
    again.close()
    assert c1.ref == "corpus/main@1" and c1.parent is None and c1.author == "ana"
    assert commits.status(workspace)["staged"] == []
    assert set(c1.artifact.files) == {"manifest.json", "docs/branch-hours.md", "docs/draft-offer.md", "docs/late-fees.md"}

    commits.stage_certify(workspace, "draft-offer")
    commits.stage_retire(workspace, "branch-hours", on=date(2026, 12, 1))
    make_doc(docs, "late-fees", "A $20 late fee applies when an installment is not paid by its due date.")
    commits.stage_add(workspace, [docs / "late-fees.md"])
    c2 = commits.commit(workspace, "Certify the offer, retire hours, raise the fee")
    assert c2.parent == c1.digest and c2.artifact.parents == [c1.digest]
    expected = {"certified": ["draft-offer"], "retired": ["branch-hours"], "changed": ["late-fees"]}
    assert {k: v for k, v in c2.changes.items() if v} == expected
    assert {k: v for k, v in commits.diff(workspace, "1", "2").to_dict().items() if v} == expected
    assert commits.diff(workspace, "2", "1").to_dict()["uncertified"] == ["draft-offer"]
    assert commits.get_commit(workspace, "head").digest == c2.digest
    assert commits.get_commit(workspace, c1.digest[:10]).ref == c1.ref
    assert [c.ref for c in commits.log(workspace)] == ["corpus/main@2", "corpus/main@1"]
    assert commits.get_commit(workspace, "2").documents["branch-hours"].meta.retired_date == date(2026, 12, 1)

    with workspace.session() as s:
        receipts = list_receipts(s, subject="corpus/main")
        assert [r.action for r in receipts] == ["corpus.commit", "corpus.commit"]
        assert receipts[1].details["message"] == "Certify the offer, retire hours, raise the fee"
        assert verify_chain(s, workspace).ok


def test_one_document_commit_reembeds_one_document(workspace, docs, make_doc):
    commits.stage_add(workspace, [docs])
    first = commits.commit(workspace, "v1")
    info1 = CorpusIndex.load(workspace.state_dir / "indexes" / first.tree).info
    assert info1["embedded"] == info1["chunks"] > 0
    make_doc(docs, "late-fees", "A $25 late fee applies when an installment is not paid by its due date.")
    commits.stage_add(workspace, [docs / "late-fees.md"])
    second = commits.commit(workspace, "v2")
    info2 = CorpusIndex.load(workspace.state_dir / "indexes" / second.tree).info
    assert info2["embedded"] == 1 and info2["reused"] == info2["chunks"] - 1
    # certification changes metadata only: nothing is embedded again
    commits.stage_certify(workspace, "draft-offer")
    third = commits.commit(workspace, "v3")
    assert CorpusIndex.load(workspace.state_dir / "indexes" / third.tree).info["embedded"] == 0


def test_revert_restores_tree_and_detects_conflicts(workspace, docs, make_doc):
    commits.stage_add(workspace, [docs])
    c1 = commits.commit(workspace, "v1")
    commits.stage_certify(workspace, "draft-offer")
    c2 = commits.commit(workspace, "certify offer")
    make_doc(docs, "late-fees", "A $30 late fee applies.")
    commits.stage_add(workspace, [docs / "late-fees.md"])
    c3 = commits.commit(workspace, "raise fee")
    # undo c2 under c3: only the certification goes
    r = commits.revert(workspace, c2.ref)
    assert r.changes["uncertified"] == ["draft-offer"] and r.parent == c3.digest
    assert r.documents["late-fees"] == c3.documents["late-fees"]
    assert r.message.startswith("Revert corpus/main@2")
    # undo the head: the tree is exactly its parent's
    back = commits.revert(workspace, "head")
    assert back.tree == c3.tree
    commits.revert(workspace, "head")  # revert the revert
    with pytest.raises(ConflictError, match="changed again"):
        commits.revert(workspace, c2.ref)  # draft-offer was reverted already, then changed back by later commits
    with pytest.raises(ConflictError, match="'late-fees' was changed again"):
        commits.revert(workspace, c1.ref)


def test_bad_input_leaves_everything_as_it_was(workspace, docs, tmp_path):
    commits.stage_add(workspace, [docs])
    commits.commit(workspace, "v1")
    commits.stage_certify(workspace, "draft-offer")
    before = _snapshot(workspace)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "binary.md").write_bytes(b"\x00\x01\x02")
    cases = [
        (lambda: commits.stage_add(workspace, [docs / "late-fees.md", bad / "binary.md"]), InvalidInput),
        (lambda: commits.stage_certify(workspace, "no-such-doc"), NotFound),
        (lambda: commits.stage_retire(workspace, "no-such-doc"), NotFound),
        (lambda: commits.stage_certify(workspace, "late-fees"), ConflictError),
        (lambda: commits.get_commit(workspace, "corpus/main@9"), NotFound),
        (lambda: commits.revert(workspace, "head"), ConflictError),  # staged changes pending
        (lambda: commits.commit(workspace, "   "), InvalidInput),
    ]
    for call, error in cases:
        with pytest.raises(error) as info:
            call()
        assert "\n" not in info.value.one_line()
        assert _snapshot(workspace) == before


def test_empty_commit(workspace, docs):
    with pytest.raises(InvalidInput, match="nothing to commit: no staged changes"):
        commits.commit(workspace, "nothing")
    commits.stage_add(workspace, [docs])
    commits.commit(workspace, "v1")
    commits.stage_add(workspace, [docs])  # the same bytes again: no net change
    before = _snapshot(workspace)
    with pytest.raises(InvalidInput, match="the corpus would be unchanged"):
        commits.commit(workspace, "again")
    assert _snapshot(workspace) == before


def _cli():
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        pass

    corpus_cli.register(root)
    return root


def _run(args, ws):
    result = CliRunner().invoke(_cli(), [*args, "--workspace", str(ws.root)], catch_exceptions=True)
    return result


def test_cli_json_and_errors(workspace, docs):
    out = _run(["corpus", "add", str(docs), "--json"], workspace)
    assert out.exit_code == 0 and json.loads(out.stdout) == {"staged": ["branch-hours", "draft-offer", "late-fees"]}
    out = _run(["corpus", "commit", "-m", "first", "--json"], workspace)
    assert json.loads(out.stdout)["ref"] == "corpus/main@1"
    for args in (["corpus", "log"], ["corpus", "status"], ["corpus", "show", "head"], ["corpus", "diff", "1", "head"]):
        out = _run([*args, "--json"], workspace)
        assert out.exit_code == 0, out.output
        json.loads(out.stdout)  # exactly one JSON document
    out = _run(["corpus", "certify", "nope"], workspace)
    assert isinstance(out.exception, LoopwrightError) and "unknown document id 'nope'" in out.exception.one_line()
    for command in ("add", "certify", "retire", "status", "reset", "commit", "log", "diff", "revert", "show"):
        help_text = _run(["corpus", command, "--help"], workspace).stdout
        assert "Example:" in help_text, command
    assert "Example:" in _run(["search", "--help"], workspace).stdout


@pytest.mark.skipif(sys.platform == "win32", reason="file locks are POSIX here")
def test_staging_file_is_replaced_atomically(workspace, docs):
    commits.stage_add(workspace, [docs])
    staged = workspace.state_dir / "corpus" / "main.staged.json"
    assert json.loads(staged.read_text())["ops"][0]["op"] == "add"
    assert not list(staged.parent.glob(".staged-*"))  # no temporary left behind
    commits.discard(workspace)
    assert not staged.exists()
