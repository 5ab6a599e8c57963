"""A content-addressed blob store: files named by their sha256, verified on every read."""

from __future__ import annotations

import hashlib
from pathlib import Path

from loopwright.errors import IntegrityError, NotFound
from loopwright.files import write_atomic


class BlobStore:
    """Blobs live at `root/ab/cdef...`; writes are atomic, reads check the digest."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        """Store `data` (once) and return its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        return digest

    def get(self, digest: str, *, owner: str = "blob") -> bytes:
        """The bytes stored under `digest`; `owner` names what they belong to in errors."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{owner}: blob {digest[:12]} is missing from the blob store") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(
                f"{owner}: blob {digest[:12]} does not match its digest (corrupted on disk)",
                hint="restore .loopwright/blobs from backup; the bytes were not served",
            )
        return data
