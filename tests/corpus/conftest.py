"""Corpus fixtures: real sample documents, the real embedder, real workspaces.

Embedding the sample corpus takes seconds, so one workspace holding the bank
corpus at its starting commit (policy deployed) is built once per session and
each test that changes it gets a copy of the whole folder: database, blobs,
indexes and embedding cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loopwright.corpus import commits
from loopwright.registry import artifacts
from loopwright.registry.deployment import set_stable
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE
from loopwright.workspace import Workspace, init_workspace

BANK_DOCS = DATA_DIR / "docs"
POLICY_TOML = DATA_DIR.parent / "config" / "policy.toml"
AS_OF = REFERENCE_DATE

DOC = """---
id: {id}
title: {title}
language: en
effective_date: 2026-10-01
certified: {certified}
sensitivity: {sensitivity}
audience: [{audience}]
source: Test desk
licence: CC0-1.0
---
# {title}

{body}
"""


def write_doc(folder: Path, id: str, body: str, *, title: str | None = None, certified: bool = True,
              sensitivity: str = "public", audience: str = "retail") -> Path:
    """A valid document file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{id}.md"
    path.write_text(
        DOC.format(id=id, title=title or id.replace("-", " ").title(), certified=str(certified).lower(),
                   sensitivity=sensitivity, audience=audience, body=body),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def make_doc():
    """`write_doc(folder, id, body, ...)`: write a valid document file."""
    return write_doc


@pytest.fixture(scope="session")
def bank_template(tmp_path_factory) -> Path:
    """A SQLite workspace with the sample policy deployed and the bank corpus committed once (`corpus/bank@1`)."""
    root = tmp_path_factory.mktemp("bank") / "ws"
    mp = pytest.MonkeyPatch()
    mp.delenv("LOOPWRIGHT_DATABASE_URL", raising=False)
    mp.setenv("LOOPWRIGHT_ACTOR", "tester")
    try:
        ws = init_workspace(root, sample="bank")
        policy = artifacts.register(ws, "policy", "bank", {"policy.toml": POLICY_TOML.read_bytes()})
        set_stable(ws, "policy", policy.ref, reason="tests")
        commits.stage_add(ws, [BANK_DOCS])
        commits.commit(ws, "Sample bank corpus", author="tester")
        ws.close()
    finally:
        mp.undo()
    return root


@pytest.fixture
def bank_ws(bank_template: Path, tmp_path: Path, monkeypatch) -> Workspace:
    """A private copy of the bank workspace at its starting commit."""
    monkeypatch.delenv("LOOPWRIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("LOOPWRIGHT_ACTOR", "tester")
    root = tmp_path / "ws"
    shutil.copytree(bank_template, root)
    ws = Workspace.open(root)
    yield ws
    ws.close()
