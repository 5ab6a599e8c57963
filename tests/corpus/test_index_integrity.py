"""An index folder is checked against the digest its corpus commit records: an altered one is never served."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from loopwright.corpus import commits
from loopwright.corpus.retrieval import Retriever
from loopwright.errors import IntegrityError
from loopwright.samples.bank import REFERENCE_DATE

WIRE_Q = "How much does a domestic wire cost?"


def _search(ws, query):
    return Retriever(ws).search(query, tenant="larkspur-retail", as_of=REFERENCE_DATE)


def _tamper_docs(folder, old: str, new: str) -> None:
    docs = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
    hits = 0
    for d in docs:
        hits += d["text"].count(old)
        d["text"] = d["text"].replace(old, new)
    assert hits, f"{old!r} is not in the index"
    (folder / "docs.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")


def test_the_commit_records_the_digest_of_its_index(bank_ws):
    head = commits.head(bank_ws)
    folder = commits.index_folder(bank_ws, head.tree)
    assert head.index_digest == commits.index_digest(folder)
    assert commits.verify_indexes(bank_ws).ok


def test_an_edited_index_is_rebuilt_from_the_documents_not_served(bank_ws, caplog):
    honest = _search(bank_ws, WIRE_Q)
    assert any("$25" in s.text for s in honest.spans)
    head = commits.head(bank_ws)
    folder = commits.index_folder(bank_ws, head.tree)
    _tamper_docs(folder, "$25", "$2")

    report = commits.verify_indexes(bank_ws)
    assert not report.ok and head.ref in report.problems[0]

    with caplog.at_level(logging.WARNING, logger="loopwright.corpus.commits"):
        again = _search(bank_ws, WIRE_Q)
    assert "does not match the digest its commit records" in caplog.text
    assert again.commit == head.digest
    assert [s.text for s in again.spans] == [s.text for s in honest.spans]  # the documents' text, not the edit
    assert commits.index_digest(folder) == head.index_digest and commits.verify_indexes(bank_ws).ok


def test_an_index_whose_rebuild_cannot_match_is_refused(bank_ws):
    """Altered vectors in the embedding cache and in the index: the rebuild differs from the record, so nothing is served."""
    head = commits.head(bank_ws)
    folder = commits.index_folder(bank_ws, head.tree)
    vectors = np.load(folder / "vectors.npy")
    np.save(folder / "vectors.npy", vectors[::-1].copy())
    for pack in (bank_ws.state_dir / "embeddings").rglob("*.npz"):
        with np.load(pack) as data:
            keys, vecs = data["keys"], data["vectors"]
        np.savez(pack, keys=keys, vectors=vecs[::-1].copy())
    with pytest.raises(IntegrityError, match="not the .* its commit records"):
        _search(bank_ws, WIRE_Q)
