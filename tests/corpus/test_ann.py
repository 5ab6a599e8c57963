"""The HNSW dense search (loopwright.corpus.ann): the same top results as the exact product, checked files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopwright.corpus import ann, commits
from loopwright.corpus.index import GATHERED, Selection
from loopwright.corpus.retrieval import Retriever
from loopwright.errors import IntegrityError
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE
from loopwright.workspace import Workspace

pytest.importorskip("faiss")


def _unit(rng: np.random.Generator, n: int, d: int = 64) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_the_graph_proposes_only_allowed_rows_and_finds_the_exact_top():
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 600)
    mask = rng.random(600) < 0.5
    graph = ann.DenseGraph.build(vectors, "t" * 64, threads=1)
    for q in _unit(rng, 20):
        rows = graph.search(q, Selection(mask).bitmap, 10)
        assert mask[rows].all()  # a masked-out row is never proposed
        allowed = np.flatnonzero(mask)
        exact = allowed[np.argsort(-(vectors[allowed] @ q))[:5]]
        assert set(exact) <= set(rows.tolist())


def test_a_selection_gathered_once_scores_as_its_rows(bank_ws):
    import torch

    index = Retriever(bank_ws).index(Retriever(bank_ws).commit())
    rng = np.random.default_rng(1)
    q = _unit(rng, 1, 384)[0]
    selections = [Selection(rng.random(len(index)) < 0.2) for _ in range(GATHERED + 1)]
    for selection in selections + selections[-1:]:  # the last one twice: the second from the kept rows
        assert torch.equal(index.selection_scores(q, selection), index.row_scores(q, selection.rows))
    assert len(index._int8._gathered) == GATHERED and selections[0] not in index._int8._gathered


def _ann_workspace(bank_ws: Workspace, monkeypatch) -> Workspace:
    monkeypatch.setenv("LOOPWRIGHT_ANN_MIN_CHUNKS", "1")  # every index serves from a graph
    return Workspace.open(bank_ws.root)


def test_the_graph_path_ranks_as_the_exact_product(bank_ws, monkeypatch):
    goldens = [json.loads(line) for line in (DATA_DIR / "goldens.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [(g["input"], g["tenant"]) for g in goldens if g["must_cite"]][:24]
    exact = Retriever(bank_ws)
    ws = _ann_workspace(bank_ws, monkeypatch)
    try:
        graphed = Retriever(ws)
        head = graphed.commit()
        assert graphed.index(head).graph is not None and exact.index(exact.commit()).graph is None
        for text, tenant in questions:
            want = exact.search(text, tenant=tenant, as_of=REFERENCE_DATE)
            got = graphed.search(text, tenant=tenant, as_of=REFERENCE_DATE)
            assert [(s.chunk_id, s.text) for s in got.spans] == [(s.chunk_id, s.text) for s in want.spans], text
            assert got.status == want.status and got.fingerprint == want.fingerprint
        # derived from the vectors, the graph is no part of the digest the commit records
        folder = commits.index_folder(ws, head.tree)
        assert (folder / ann.FILE).is_file() and commits.verify_indexes(ws).ok
    finally:
        ws.close()


def test_a_commit_past_the_threshold_builds_its_graph(bank_ws, monkeypatch, make_doc, tmp_path):
    ws = _ann_workspace(bank_ws, monkeypatch)
    try:
        commits.stage_add(ws, [make_doc(tmp_path / "docs", "graph-note", "The graph is built with the index.")])
        made = commits.commit(ws, "add a note")
        folder = commits.index_folder(ws, made.tree)
        assert (folder / ann.FILE).is_file()  # before any search: serving loads it, never builds it
        ann.DenseGraph.load(folder, made.tree, len(commits.ensure_index(ws, made.tree, made.documents, made.index_digest)))
    finally:
        ws.close()
    monkeypatch.setenv("LOOPWRIGHT_ANN_MIN_CHUNKS", "0")  # 0: no graph, whatever the size
    ws = Workspace.open(bank_ws.root)
    try:
        commits.stage_add(ws, [make_doc(tmp_path / "docs", "graph-note", "Exact search only.")])
        assert not (commits.index_folder(ws, commits.commit(ws, "edit the note").tree) / ann.FILE).exists()
    finally:
        ws.close()


def _saved_graph(bank_ws, monkeypatch):
    ws = _ann_workspace(bank_ws, monkeypatch)
    retriever = Retriever(ws)
    head = retriever.commit()
    index = retriever.index(head)
    return ws, commits.index_folder(ws, head.tree), index


def test_a_corrupted_graph_is_a_one_line_error(bank_ws, monkeypatch):
    ws, folder, index = _saved_graph(bank_ws, monkeypatch)
    try:
        raw = bytearray((folder / ann.FILE).read_bytes())
        raw[-100] ^= 0xFF
        (folder / ann.FILE).write_bytes(bytes(raw))
        with pytest.raises(IntegrityError) as caught:
            Retriever(ws).search("What is the late fee?", tenant="larkspur-retail", as_of=REFERENCE_DATE)
        assert "corrupted" in str(caught.value) and "\n" not in str(caught.value)
        (folder / ann.FILE).write_bytes(b"not a graph")
        with pytest.raises(IntegrityError, match="unreadable"):
            ann.DenseGraph.load(folder, index.tree, len(index))
    finally:
        ws.close()


def test_a_graph_of_another_index_is_refused(bank_ws, monkeypatch):
    ws, folder, index = _saved_graph(bank_ws, monkeypatch)
    try:
        with pytest.raises(IntegrityError, match="belongs to tree") as caught:
            ann.DenseGraph.load(folder, "0" * 64, len(index))
        assert "\n" not in str(caught.value)
        with pytest.raises(IntegrityError, match=f"with {len(index)} chunks"):
            ann.DenseGraph.load(folder, index.tree, len(index) + 1)
    finally:
        ws.close()
