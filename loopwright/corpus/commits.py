"""Corpus commits: stage documents, certify and retire them, commit, log, diff, revert.

A commit is a `corpus` artifact whose files are `manifest.json` and each
document's bytes (`docs/<id>.md`). The manifest names the parent commit, the
author and message, each document's committed metadata (front matter plus any
certify or retire decision), and the changes against the parent. The artifact
registration writes the commit's receipt.

A commit's *tree* digest covers only the documents and their metadata, like a
git tree: a revert restores an earlier tree exactly, so it reuses that tree's
index and its retrieval fingerprints (see `index.py`).

The manifest also records the digest of the index built from the commit's
documents (`index`: every index file's sha256). An index folder that does
not match it (edited, or damaged) is never served: it is rebuilt from the
commit's verified documents, and if the rebuild does not reproduce the
recorded digest either (the embedding cache was altered, say) loading fails.

Staged changes are an ordered list of operations in
`state_dir/corpus/<name>.staged.json` (document bytes go to the blob store),
read and rewritten under a file lock with an atomic rename, so separate CLI
invocations see each other's staging and a failed command leaves it as it was.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.corpus.documents import Document, ParsedDocument, parse_bytes, read_documents
from loopwright.digests import canonical_json, digest_of
from loopwright.errors import ConflictError, IntegrityError, InvalidInput, NotFound, UnknownRef
from loopwright.files import write_atomic
from loopwright.registry import artifacts
from loopwright.registry.artifacts import Artifact
from loopwright.registry.payloads import CorpusCommit, CorpusRevert

if TYPE_CHECKING:
    from loopwright.corpus.index import CorpusIndex
    from loopwright.registry.audit import Check
    from loopwright.workspace import Workspace

logger = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
DEFAULT_NAME = "main"


@dataclass(frozen=True)
class DocEntry:
    """One document as committed: metadata and the digest of its bytes."""

    meta: Document
    digest: str

    @property
    def path(self) -> str:
        return f"docs/{self.meta.id}.md"

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.meta.to_json(), "digest": self.digest, "path": self.path}


def tree_digest(docs: dict[str, DocEntry]) -> str:
    """The digest of a corpus state: every document's metadata and content digest."""
    return digest_of({doc_id: {"meta": e.meta.to_json(), "digest": e.digest} for doc_id, e in sorted(docs.items())})


@dataclass(frozen=True)
class Commit:
    """A corpus commit read back from its artifact."""

    artifact: Artifact
    parent: str | None
    tree: str
    message: str
    author: str
    documents: dict[str, DocEntry]
    changes: dict[str, list[str]]
    index_digest: str | None = None  # None for commits made before manifests recorded it

    @property
    def digest(self) -> str:
        return self.artifact.digest

    @property
    def ref(self) -> str:
        return self.artifact.ref

    def to_dict(self, *, documents: bool = True) -> dict[str, Any]:
        out = {
            "ref": self.ref,
            "digest": self.digest,
            "parent": self.parent,
            "tree": self.tree,
            "message": self.message,
            "author": self.author,
            "created_at": self.artifact.created_at,
            "changes": self.changes,
            "documents": len(self.documents),
        }
        if documents:
            out["documents"] = {k: e.to_json() for k, e in sorted(self.documents.items())}
        return out


@dataclass(frozen=True)
class Diff:
    """What changed from one corpus state to another, by document id."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unretired: list[str] = field(default_factory=list)
    certified: list[str] = field(default_factory=list)
    uncertified: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: v for k, v in self.__dict__.items()}

    def __bool__(self) -> bool:
        return any(self.__dict__.values())


def diff_trees(a: dict[str, DocEntry], b: dict[str, DocEntry]) -> Diff:
    d = Diff()
    for doc_id in sorted(set(a) | set(b)):
        old, new = a.get(doc_id), b.get(doc_id)
        if old is None:
            d.added.append(doc_id)
            continue
        if new is None:
            d.removed.append(doc_id)
            continue
        if old.digest != new.digest:
            d.changed.append(doc_id)
        if old.meta.retired_date != new.meta.retired_date:
            (d.retired if new.meta.retired_date else d.unretired).append(doc_id)
        if old.meta.certified != new.meta.certified:
            (d.certified if new.meta.certified else d.uncertified).append(doc_id)
    return d


# ---- reading commits ------------------------------------------------------------------------------


def corpus_name(ws: Workspace, name: str | None = None) -> str:
    """The corpus acted on: `name`, else the workspace's sample name, else "main"."""
    return name or ws.settings.workspace.sample or DEFAULT_NAME


def commit_of(ws: Workspace, artifact: Artifact) -> Commit:
    """Read a corpus commit from its artifact (manifest verified against its digest)."""
    if artifact.kind != "corpus" or MANIFEST not in artifact.files:
        raise UnknownRef(f"{artifact.ref} is not a corpus commit")
    m = json.loads(artifact_bytes(ws, artifact, MANIFEST))
    docs = {k: DocEntry(Document.model_validate(v["meta"]), v["digest"]) for k, v in m["documents"].items()}
    return Commit(artifact, m["parent"], m["tree"], m["message"], m["author"], docs, m["changes"], m.get("index"))


def artifact_bytes(ws: Workspace, artifact: Artifact, path: str) -> bytes:
    return artifacts.read_file(ws, artifact, path)


def head(ws: Workspace, name: str | None = None) -> Commit | None:
    """The latest commit of the corpus, or None before the first."""
    found = artifacts.list_artifacts(ws, kind="corpus", name=corpus_name(ws, name))
    return commit_of(ws, found[-1]) if found else None


def get_commit(ws: Workspace, ref: str, name: str | None = None) -> Commit:
    """A commit by `corpus/NAME@N`, a version number `N`, `@N`, `head`, or a digest prefix."""
    name = corpus_name(ws, name)
    ref = ref.strip()
    if ref.lower() == "head":
        found = head(ws, name)
        if found is None:
            raise NotFound(f"corpus {name!r} has no commits yet", hint="`loopwright corpus add` then `corpus commit`")
        return found
    if ref.removeprefix("@").isdigit() and len(ref) < 8:
        ref = f"corpus/{name}@{ref.removeprefix('@')}"
    return commit_of(ws, artifacts.resolve(ws, ref, kind="corpus"))


def log(ws: Workspace, name: str | None = None) -> list[Commit]:
    """Every commit of the corpus, newest first."""
    found = artifacts.list_artifacts(ws, kind="corpus", name=corpus_name(ws, name))
    return [commit_of(ws, a) for a in reversed(found)]


def diff(ws: Workspace, a: str, b: str, name: str | None = None) -> Diff:
    """What changed from commit `a` to commit `b`."""
    return diff_trees(get_commit(ws, a, name).documents, get_commit(ws, b, name).documents)


def parsed_documents(ws: Workspace, docs: dict[str, DocEntry]) -> list[tuple[Document, ParsedDocument]]:
    """Committed metadata with each document's verified, parsed bytes, in id order."""
    out = []
    for doc_id, entry in sorted(docs.items()):
        raw = ws.blobs.get(entry.digest, owner=f"corpus document {doc_id}")
        out.append((entry.meta, parse_bytes(raw, doc_id)))
    return out


def index_folder(ws: Workspace, tree: str) -> Path:
    return ws.state_dir / "indexes" / tree


def index_digest(folder: Path) -> str:
    """The digest of an index folder: every file's path and sha256, build timings and the HNSW graph aside.

    Both are derived (from the build and from the vectors) and checked on their own (`ann.DenseGraph.load`).
    """
    from loopwright.corpus import ann
    from loopwright.corpus.index import BUILD_FILE

    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in (BUILD_FILE, ann.FILE):
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest_of(files)


def build_index(ws: Workspace, tree: str, docs: dict[str, DocEntry]) -> tuple[CorpusIndex, str]:
    """Build `tree`'s index from the verified documents (reusing cached vectors), save it, and return it with its digest."""
    from loopwright.corpus.embeddings import EmbeddingCache
    from loopwright.corpus.index import CorpusIndex
    from loopwright.embedding import get_embedder

    folder = index_folder(ws, tree)
    embedder = get_embedder()
    cache = EmbeddingCache(ws.state_dir / "embeddings", embedder.key)
    index = CorpusIndex.build(tree, parsed_documents(ws, docs), embedder, cache)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = folder.with_name(f".{tree}.build-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    index.save(fresh)
    digest = index_digest(fresh)
    # What was there is not trusted; an identical folder stays (a reader may be loading it), any other is replaced.
    if folder.is_dir() and index_digest(folder) == digest:
        shutil.rmtree(fresh, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        try:
            fresh.rename(folder)
        except OSError:  # another process put the same tree's index there meanwhile
            shutil.rmtree(fresh, ignore_errors=True)
    threshold = ws.settings.index.ann_min_chunks
    if threshold and len(index) >= threshold:
        from loopwright.corpus.ann import DenseGraph

        # with the index, so the first search after a commit loads the graph instead of building it (~40 s at 100k here)
        DenseGraph.ensure(folder, tree, folder / "vectors.npy", len(index))
    return index.for_serving(), digest


def ensure_index(ws: Workspace, tree: str, docs: dict[str, DocEntry], expected: str | None = None) -> CorpusIndex:
    """The index of `tree`, checked against `expected` (the digest its commit records) before it is served.

    A matching folder is loaded. A missing, outdated or altered one is rebuilt
    from the verified documents; a rebuild that does not reproduce `expected`
    raises `IntegrityError` (nothing is served). Without `expected` (a commit
    older than the recorded digests) the folder cannot be checked, so it is
    always rebuilt.
    """
    from loopwright.corpus.index import CorpusIndex

    folder = index_folder(ws, tree)
    if expected is not None and (folder / "index.json").is_file():
        if index_digest(folder) == expected:
            return CorpusIndex.load(folder)
        if CorpusIndex.is_current(folder):  # an older format is expected to differ; an altered folder is not
            logger.warning("index %s does not match the digest its commit records: rebuilt from the documents, not served", tree[:12])
    index, digest = build_index(ws, tree, docs)
    if expected is not None and digest != expected:
        shutil.rmtree(folder, ignore_errors=True)
        raise IntegrityError(
            f"index of corpus tree {tree[:12]} rebuilt from its verified documents has digest {digest[:12]}, "
            f"not the {expected[:12]} its commit records; it is not served",
            hint="the embedding cache (.loopwright/embeddings) may have been altered: remove it and retry",
        )
    return index


def verify_indexes(ws: Workspace) -> Check:
    """Every index folder on disk that a corpus commit records a digest for matches it (missing ones are rebuilt on use)."""
    from loopwright.registry.audit import Check

    problems, checked, seen = [], 0, set()
    for artifact in artifacts.list_artifacts(ws, kind="corpus"):
        try:
            found = commit_of(ws, artifact)
        except (UnknownRef, KeyError, ValueError):
            continue  # not a commit's manifest (a bare corpus artifact): it has no index
        folder = index_folder(ws, found.tree)
        if found.index_digest is None or found.tree in seen or not (folder / "index.json").is_file():
            continue
        seen.add(found.tree)
        checked += 1
        if index_digest(folder) != found.index_digest:
            problems.append(f"index of {found.ref} (tree {found.tree[:12]}) does not match the digest its commit records")
    return Check("indexes", checked, problems)


# ---- staging --------------------------------------------------------------------------------------


def _stage_paths(ws: Workspace, name: str) -> tuple[Path, Path]:
    folder = ws.state_dir / "corpus"
    return folder / f"{name}.staged.json", folder / f"{name}.lock"


@contextmanager
def _locked(ws: Workspace, name: str) -> Iterator[Path]:
    staged, lock = _stage_paths(ws, name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield staged
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_ops(staged: Path) -> list[dict[str, Any]]:
    if not staged.is_file():
        return []
    return json.loads(staged.read_text(encoding="utf-8"))["ops"]


def _write_ops(staged: Path, ops: list[dict[str, Any]]) -> None:
    if not ops:
        staged.unlink(missing_ok=True)
        return
    write_atomic(staged, canonical_json({"format": FORMAT, "ops": ops}))


def _apply(ws: Workspace, docs: dict[str, DocEntry], ops: list[dict[str, Any]]) -> dict[str, DocEntry]:
    """The corpus state after `ops`; raises on an op that no longer applies."""
    out = dict(docs)
    for op in ops:
        doc_id = op["doc_id"]
        if op["op"] == "add":
            if doc_id in out and out[doc_id].digest == op["digest"]:
                continue  # same bytes: keep the committed certification and retirement
            meta = parse_bytes(ws.blobs.get(op["digest"], owner=f"staged {doc_id}"), op["origin"]).meta
            out[doc_id] = DocEntry(meta, op["digest"])
            continue
        entry = out.get(doc_id)
        if entry is None:
            raise _unknown(doc_id)
        if op["op"] == "certify":
            out[doc_id] = DocEntry(entry.meta.model_copy(update={"certified": True}), entry.digest)
        elif op["op"] == "retire":
            out[doc_id] = DocEntry(entry.meta.model_copy(update={"retired_date": date.fromisoformat(op["on"])}), entry.digest)
    return out


def _unknown(doc_id: str) -> NotFound:
    return NotFound(f"unknown document id {doc_id!r}", hint="`loopwright corpus status` and `corpus show head` list the ids")


def _state(ws: Workspace, name: str, staged: Path) -> tuple[Commit | None, dict[str, DocEntry], dict[str, DocEntry]]:
    current = head(ws, name)
    base = dict(current.documents) if current else {}
    return current, base, _apply(ws, base, _read_ops(staged))


def stage_add(ws: Workspace, paths: list[Path], name: str | None = None) -> list[str]:
    """Stage documents (files, or every document below a folder); all are validated before any is staged."""
    name = corpus_name(ws, name)
    docs = read_documents(paths)
    with _locked(ws, name) as staged:
        ops = _read_ops(staged)
        for doc in docs:
            ops.append({"op": "add", "doc_id": doc.id, "digest": ws.blobs.put(doc.raw), "origin": doc.origin})
        _write_ops(staged, ops)
    return [d.id for d in docs]


def stage_certify(ws: Workspace, doc_id: str, name: str | None = None) -> None:
    """Stage certification of a committed or staged document."""
    name = corpus_name(ws, name)
    with _locked(ws, name) as staged:
        _, _, docs = _state(ws, name, staged)
        if doc_id not in docs:
            raise _unknown(doc_id)
        if docs[doc_id].meta.certified:
            raise ConflictError(f"document {doc_id!r} is already certified")
        _write_ops(staged, [*_read_ops(staged), {"op": "certify", "doc_id": doc_id}])


def stage_retire(ws: Workspace, doc_id: str, on: date | None = None, name: str | None = None) -> date:
    """Stage retirement of a document from `on` (default today): from then on it is stale."""
    name = corpus_name(ws, name)
    on = on or date.today()
    with _locked(ws, name) as staged:
        _, _, docs = _state(ws, name, staged)
        if doc_id not in docs:
            raise _unknown(doc_id)
        meta = docs[doc_id].meta
        if meta.retired_date is not None and meta.retired_date <= on:
            raise ConflictError(f"document {doc_id!r} is already retired (on {meta.retired_date.isoformat()})")
        if on <= meta.effective_date:
            raise InvalidInput(f"cannot retire {doc_id!r} on {on.isoformat()}: it takes effect on {meta.effective_date.isoformat()}")
        _write_ops(staged, [*_read_ops(staged), {"op": "retire", "doc_id": doc_id, "on": on.isoformat()}])
    return on


def status(ws: Workspace, name: str | None = None) -> dict[str, Any]:
    """The head commit, the staged operations and their net effect on it."""
    name = corpus_name(ws, name)
    with _locked(ws, name) as staged:
        current, base, docs = _state(ws, name, staged)
        ops = _read_ops(staged)
    return {
        "corpus": name,
        "head": current.ref if current else None,
        "staged": [{k: v for k, v in op.items() if k != "digest"} for op in ops],
        "changes": diff_trees(base, docs).to_dict(),
        "documents": len(docs),
    }


def discard(ws: Workspace, name: str | None = None) -> int:
    """Drop every staged operation; returns how many there were."""
    name = corpus_name(ws, name)
    with _locked(ws, name) as staged:
        count = len(_read_ops(staged))
        _write_ops(staged, [])
    return count


# ---- committing -----------------------------------------------------------------------------------


def _record(
    ws: Workspace, name: str, parent: Commit | None, docs: dict[str, DocEntry], message: str, author: str | None,
    receipt: type[CorpusCommit],
) -> Commit:
    message = " ".join(message.split())
    if not message:
        raise InvalidInput("a commit needs a message", hint="pass -m 'what changed and why'")
    base = parent.documents if parent else {}
    changes = diff_trees(base, docs)
    if not changes:
        raise InvalidInput("nothing to commit: the corpus would be unchanged", hint="stage changes with `corpus add`, `certify` or `retire`")
    tree = tree_digest(docs)
    author = author or ws.actor
    # Build the index first: if that fails, nothing is registered.
    _, built = build_index(ws, tree, docs)
    manifest = {
        "format": FORMAT,
        "corpus": name,
        "parent": parent.digest if parent else None,
        "tree": tree,
        "message": message,
        "author": author,
        "documents": {k: e.to_json() for k, e in sorted(docs.items())},
        "changes": changes.to_dict(),
        "index": built,
    }
    files = {MANIFEST: canonical_json(manifest).encode("utf-8")}
    for doc_id, entry in docs.items():
        files[entry.path] = ws.blobs.get(entry.digest, owner=f"corpus document {doc_id}")
    sensitivity = max((e.meta.sensitivity_level, e.meta.sensitivity) for e in docs.values())[1] if docs else "public"
    artifact = artifacts.register(
        ws,
        "corpus",
        name,
        files,
        parents=[parent.digest] if parent else (),
        provenance={
            "source": "corpus commit",
            "creator": author,
            "licence": ", ".join(sorted({e.meta.licence for e in docs.values()})),
            "sensitivity": sensitivity,
        },
        config={"tree": tree, "documents": len(docs)},
        actor=author,
        receipt=receipt,
        details={"message": message, "tree": tree, "changes": changes.to_dict()},
    )
    return commit_of(ws, artifact)


def commit(ws: Workspace, message: str, *, author: str | None = None, name: str | None = None) -> Commit:
    """Commit the staged changes as the next corpus version (with its receipt), then clear the staging."""
    name = corpus_name(ws, name)
    with _locked(ws, name) as staged:
        if not _read_ops(staged):
            raise InvalidInput("nothing to commit: no staged changes", hint="stage changes with `corpus add`, `certify` or `retire`")
        current, _, docs = _state(ws, name, staged)
        made = _record(ws, name, current, docs, message, author, CorpusCommit)
        _write_ops(staged, [])
    return made


def revert(ws: Workspace, ref: str, *, message: str | None = None, author: str | None = None, name: str | None = None) -> Commit:
    """A new commit undoing commit `ref`'s changes on top of the head.

    Reverting the head restores its parent's tree exactly. A document the
    reverted commit touched that a later commit changed again is a conflict.
    """
    name = corpus_name(ws, name)
    with _locked(ws, name) as staged:
        if _read_ops(staged):
            raise ConflictError("there are staged changes", hint="commit them or `corpus reset` before reverting")
        target = get_commit(ws, ref, name)
        current = head(ws, name)
        assert current is not None  # target exists, so the corpus has commits
        before = get_commit(ws, target.parent, name).documents if target.parent else {}
        docs = dict(current.documents)
        for doc_id in sorted(set(before) | set(target.documents)):
            if before.get(doc_id) == target.documents.get(doc_id):
                continue
            if docs.get(doc_id) != target.documents.get(doc_id):
                raise ConflictError(
                    f"cannot revert {target.ref}: document {doc_id!r} was changed again after it",
                    hint="revert the later commits first",
                )
            if doc_id in before:
                docs[doc_id] = before[doc_id]
            else:
                docs.pop(doc_id, None)
        return _record(ws, name, current, docs, message or f"Revert {target.ref}: {target.message}", author, CorpusRevert)
