"""Artifacts are content-addressed, versioned per name, verified on read, and receipted."""

import pytest

from loopwright.errors import IntegrityError, InvalidInput, UnknownRef
from loopwright.registry import artifacts
from loopwright.registry.receipts import list_receipts


def test_register_versions_and_dedupes(workspace):
    a1 = artifacts.register(workspace, "prompt", "bank", {"system.md": b"be brief"}, provenance={"source": "team"})
    again = artifacts.register(workspace, "prompt", "bank", {"system.md": b"be brief"})
    a2 = artifacts.register(workspace, "prompt", "bank", {"system.md": b"be briefer"}, parents=[a1.ref])
    assert (a1.version, again.version, a2.version) == (1, 1, 2)
    assert again.digest == a1.digest and again.id == a1.id
    assert a2.parents == [a1.digest]
    assert a1.provenance == {"source": "team"}
    # The same content under another name is another artifact with the same digest.
    other = artifacts.register(workspace, "prompt", "branch", {"system.md": b"be brief"})
    assert other.digest == a1.digest and other.ref == "prompt/branch@1"
    with workspace.session() as s:
        subjects = [r.subject for r in list_receipts(s, action="artifact.register")]
    assert subjects == ["prompt/bank@1", "prompt/bank@2", "prompt/branch@1"]


def test_resolve_forms(workspace):
    a1 = artifacts.register(workspace, "router", "bank", {"router.toml": b"a = 1"})
    a2 = artifacts.register(workspace, "router", "bank", {"router.toml": b"a = 2"})
    assert artifacts.resolve(workspace, "router/bank").id == a2.id
    assert artifacts.resolve(workspace, "router/bank@1").id == a1.id
    assert artifacts.resolve(workspace, a1.digest[:10]).id == a1.id
    assert artifacts.resolve(workspace, "sha256:" + a2.digest).id == a2.id
    for bad in ("router/bank@9", "router/nope", "nonsense", "deadbeefdeadbeef"):
        with pytest.raises(UnknownRef):
            artifacts.resolve(workspace, bad)
    with pytest.raises(UnknownRef, match="not a policy"):
        artifacts.resolve(workspace, "router/bank", kind="policy")


def test_lineage_walks_parents(workspace):
    base = artifacts.register(workspace, "model", "base", {"w.bin": b"0"})
    adapter = artifacts.register(workspace, "adapter", "jargon", {"a.bin": b"1"}, parents=[base.ref])
    merged = artifacts.register(workspace, "model", "merged", {"w.bin": b"2"}, parents=[base.ref, adapter.ref])
    chain = artifacts.lineage(workspace, merged.ref)
    assert [(d, a.ref) for d, a in chain] == [(0, "model/merged@1"), (1, "model/base@1"), (1, "adapter/jargon@1")]


def test_corrupt_blob_is_refused_naming_the_artifact(workspace):
    a = artifacts.register(workspace, "goldens", "bank", {"goldens.jsonl": b'{"id": "g1"}\n'})
    blob = workspace.blobs.path(a.files["goldens.jsonl"]["digest"])
    blob.write_bytes(b'{"id": "g2"}\n')
    with pytest.raises(IntegrityError, match="goldens/bank@1"):
        artifacts.read_file(workspace, a, "goldens.jsonl")


@pytest.mark.parametrize(
    ("kind", "name", "files"),
    [
        ("weights", "x", {"a": b"1"}),
        ("model", "Bad Name", {"a": b"1"}),
        ("model", "x", {}),
        ("model", "x", {"../escape": b"1"}),
        ("model", "x", {"/abs": b"1"}),
    ],
)
def test_bad_registrations_store_nothing(workspace, kind, name, files):
    with pytest.raises(InvalidInput):
        artifacts.register(workspace, kind, name, files)
    assert artifacts.list_artifacts(workspace) == []


def test_materialize_gives_verified_files(workspace):
    a = artifacts.register(workspace, "model", "tiny", {"config.json": b"{}", "sub/w.bin": b"\x00\x01"})
    folder = artifacts.materialize(workspace, a)
    assert (folder / "sub" / "w.bin").read_bytes() == b"\x00\x01"
    assert artifacts.materialize(workspace, a) == folder
