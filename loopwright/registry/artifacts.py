"""Artifacts: immutable, content-addressed versions named `kind/name@N`.

An artifact is a set of files (kept in the blob store) plus its lineage,
provenance and the configuration that produced it. Its digest is the sha256 of
its kind and file manifest, so the same content always has the same digest
and registering it again returns the version that exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import canonical_json, digest_of, utc_now
from loopwright.errors import InvalidInput, NotFound, UnknownRef
from loopwright.files import atomic_folder
from loopwright.registry.payloads import ArtifactRef, ArtifactRegister
from loopwright.registry.receipts import append_receipt
from loopwright.store.schema import ArtifactRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

KINDS = ("model", "adapter", "prompt", "corpus", "router", "policy", "dataset", "goldens", "eval", "note")
PROVENANCE_FIELDS = ("source", "licence", "consent", "sensitivity", "creator")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_REF = re.compile(r"^(?P<kind>[a-z]+)/(?P<name>[^@\s]+)(?:@(?P<version>\d+))?$")


@dataclass(frozen=True)
class Artifact:
    """One registered artifact version."""

    id: int
    kind: str
    name: str
    version: int
    digest: str
    files: dict[str, dict[str, Any]]
    parents: list[str]
    provenance: dict[str, Any]
    config: dict[str, Any]
    created_at: str
    created_by: str

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}@{self.version}"

    @property
    def short(self) -> str:
        """`ref` with the first 12 digits of the digest, as traces and tables show it."""
        return f"{self.ref} ({self.digest[:12]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "files": self.files,
            "parents": self.parents,
            "provenance": self.provenance,
            "config": self.config,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


def _from_row(row: ArtifactRow) -> Artifact:
    return Artifact(
        id=row.id,
        kind=row.kind,
        name=row.name,
        version=row.version,
        digest=row.digest,
        files=json.loads(row.files),
        parents=json.loads(row.parents),
        provenance=json.loads(row.provenance),
        config=json.loads(row.config),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def content_digest(kind: str, manifest: Mapping[str, Mapping[str, Any]]) -> str:
    """The artifact digest: kind plus each file's path, digest and size."""
    return digest_of({"kind": kind, "files": manifest})


def _check_identity(kind: str, name: str, files: Mapping[str, Any]) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"unknown artifact kind {kind!r}", hint=f"one of: {', '.join(KINDS)}")
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid artifact name {name!r}", hint="lowercase letters, digits, '.', '_' and '-', up to 100"
        )
    if not files:
        raise InvalidInput(f"artifact {kind}/{name} has no files")
    for path in files:
        parts = Path(path).parts
        if not path or Path(path).is_absolute() or ".." in parts or "\\" in path:
            raise InvalidInput(f"artifact {kind}/{name}: invalid file path {path!r}")


def register(
    ws: Workspace,
    kind: str,
    name: str,
    files: Mapping[str, bytes],
    *,
    parents: Sequence[str] = (),
    provenance: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    actor: str | None = None,
    receipt: type[ArtifactRegister] = ArtifactRegister,
    details: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> Artifact:
    """Register `files` as the next version of `kind/name`, with a receipt.

    Identical content under the same name returns the existing version and
    writes nothing. `parents` are digests (or refs) of the artifacts this one
    derives from. The receipt is a `receipt` payload (a corpus commit, a
    training job...); `details` are the fields its details add to the parents
    and provenance. Pass `session` to register inside a caller's write
    transaction, together with the state change that needs the artifact.
    """
    _check_identity(kind, name, files)
    manifest = {path: {"digest": ws.blobs.put(data), "size": len(data)} for path, data in sorted(files.items())}
    digest = content_digest(kind, manifest)
    if session is None:
        with ws.write() as s:
            return _insert(ws, s, kind, name, manifest, digest, parents, provenance, config, actor, receipt, details)
    return _insert(ws, session, kind, name, manifest, digest, parents, provenance, config, actor, receipt, details)


def _insert(ws, session, kind, name, manifest, digest, parents, provenance, config, actor, receipt, details):
    existing = session.scalars(
        sa.select(ArtifactRow).where(ArtifactRow.kind == kind, ArtifactRow.name == name, ArtifactRow.digest == digest)
    ).first()
    if existing is not None:
        return _from_row(existing)
    parent_digests = [resolve(ws, p, session=session).digest for p in parents]
    latest = session.scalar(
        sa.select(sa.func.max(ArtifactRow.version)).where(ArtifactRow.kind == kind, ArtifactRow.name == name)
    )
    row = ArtifactRow(
        kind=kind,
        name=name,
        version=(latest or 0) + 1,
        digest=digest,
        files=canonical_json(manifest),
        parents=canonical_json(parent_digests),
        provenance=canonical_json(dict(provenance or {})),
        config=canonical_json(dict(config or {})),
        created_at=utc_now(),
        created_by=actor or ws.actor,
    )
    session.add(row)
    session.flush()
    artifact = _from_row(row)
    payload = receipt(
        after=ArtifactRef(ref=artifact.ref, digest=digest),
        details={"parents": parent_digests, "provenance": artifact.provenance, **(details or {})},
    )
    append_receipt(session, ws, payload, subject=artifact.ref, actor=actor)
    return artifact


def resolve(ws: Workspace, ref: str, *, session: Session | None = None, kind: str | None = None) -> Artifact:
    """Find an artifact by `kind/name@N`, `kind/name` (latest), or a digest prefix (8+ hex digits).

    `kind`, when given, is required of the match.
    """
    if session is None:
        with ws.session() as s:
            return resolve(ws, ref, session=s, kind=kind)
    ref = ref.strip()
    query = sa.select(ArtifactRow)
    match = _REF.match(ref)
    if match:
        query = query.where(ArtifactRow.kind == match["kind"], ArtifactRow.name == match["name"])
        if match["version"]:
            query = query.where(ArtifactRow.version == int(match["version"]))
        rows = session.scalars(query.order_by(ArtifactRow.version.desc()).limit(1)).all()
    elif re.fullmatch(r"(sha256:)?[0-9a-fA-F]{8,64}", ref):
        prefix = ref.removeprefix("sha256:").lower()
        rows = session.scalars(query.where(ArtifactRow.digest.startswith(prefix))).all()
        if len({r.digest for r in rows}) > 1:
            raise UnknownRef(f"digest prefix {ref!r} is ambiguous ({len(rows)} artifacts)", hint="give more digits")
    else:
        raise UnknownRef(
            f"{ref!r} is not an artifact reference", hint="use kind/name@N, kind/name, or a digest prefix of 8+ digits"
        )
    if not rows:
        raise UnknownRef(f"no artifact {ref!r}", hint="`loopwright registry list` shows what is registered")
    artifact = _from_row(rows[0])
    if kind and artifact.kind != kind:
        raise UnknownRef(f"{ref!r} is a {artifact.kind} artifact, not a {kind}")
    return artifact


def get_by_id(session: Session, artifact_id: int) -> Artifact:
    row = session.get(ArtifactRow, artifact_id)
    if row is None:
        raise NotFound(f"no artifact with id {artifact_id}")
    return _from_row(row)


def list_artifacts(ws: Workspace, kind: str | None = None, name: str | None = None) -> list[Artifact]:
    """Artifacts ordered by kind, name and version."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"unknown artifact kind {kind!r}", hint=f"one of: {', '.join(KINDS)}")
    query = sa.select(ArtifactRow).order_by(ArtifactRow.kind, ArtifactRow.name, ArtifactRow.version)
    if kind:
        query = query.where(ArtifactRow.kind == kind)
    if name:
        query = query.where(ArtifactRow.name == name)
    with ws.session() as s:
        return [_from_row(r) for r in s.scalars(query)]


def lineage(ws: Workspace, ref: str) -> list[tuple[int, Artifact]]:
    """The artifact and its ancestors, depth first, each with its depth (0 for the artifact itself)."""
    out: list[tuple[int, Artifact]] = []
    seen: set[str] = set()
    with ws.session() as s:

        def walk(artifact: Artifact, depth: int) -> None:
            out.append((depth, artifact))
            for parent in artifact.parents:
                if parent not in seen:
                    seen.add(parent)
                    walk(resolve(ws, parent, session=s), depth + 1)

        walk(resolve(ws, ref, session=s), 0)
    return out


def read_file(ws: Workspace, artifact: Artifact, path: str) -> bytes:
    """One file of an artifact, verified against its digest."""
    entry = artifact.files.get(path)
    if entry is None:
        raise NotFound(f"{artifact.ref} has no file {path!r}", hint=f"it has: {', '.join(sorted(artifact.files))}")
    return ws.blobs.get(entry["digest"], owner=artifact.ref)


def materialize(ws: Workspace, artifact: Artifact) -> Path:
    """A local folder holding the artifact's files (verified), cached by digest.

    For models and adapters that libraries load from a path.
    """
    target = ws.state_dir / "cache" / "artifacts" / artifact.digest
    if target.is_dir():
        return target
    with atomic_folder(target) as staging:
        for path in artifact.files:
            dest = staging / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(read_file(ws, artifact, path))
    return target


def files_from_dir(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, keyed by its relative POSIX path."""
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
