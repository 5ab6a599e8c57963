"""The embedding cache: chunk vectors keyed by the sha256 of the text embedded.

Vectors live in `state_dir/embeddings/<embedder key>/pack-*.npz`, one pack per
index build that embedded something new. A pack holds raw 32-byte digests ((N, 32) uint8) and
float16 vectors (unit vectors lose nothing that ranking can see at 16 bits, and
the cache is half the size). Packs are written to a temporary name and renamed,
so a reader never sees half a pack, and never rewritten, so concurrent builds
cannot corrupt each other (at worst both embed the same text once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from loopwright.digests import sha256_hex
from loopwright.files import atomic_file

logger = logging.getLogger(__name__)

PACK_SIZE = 8192

class EmbeddingCache:
    """Look up vectors by content hash; embed and store only what is missing."""

    def __init__(self, root: Path, embedder_key: str):
        self.root = root / embedder_key
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._packs: list[np.ndarray] = []
        self._loaded: set[str] = set()

    def _refresh(self) -> dict[bytes, tuple[int, int]]:
        if self._index is None:
            self._index = {}
        if not self.root.is_dir():
            return self._index
        for path in sorted(self.root.glob("pack-*.npz")):
            if path.name in self._loaded:
                continue
            with np.load(path) as pack:
                keys, vectors = pack["keys"], pack["vectors"]
            slot = len(self._packs)
            self._packs.append(vectors)
            for row in range(len(keys)):
                self._index.setdefault(keys[row].tobytes(), (slot, row))
            self._loaded.add(path.name)
        return self._index

    def __len__(self) -> int:
        return len(self._refresh())

    def vectors_for(
        self, hashes: Sequence[str], texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]
    ) -> tuple[np.ndarray, int]:
        """(N, D) float16 vectors for `hashes`, embedding (and caching) the missing `texts`.

        Returns the vectors and how many texts were embedded now.
        """
        index = self._refresh()
        keys = [bytes.fromhex(h) for h in hashes]
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            if key not in index and key not in missing:
                missing[key] = i
        todo = list(missing.items())
        # a pack per slice: an interrupted build of a large corpus keeps what it embedded
        for start in range(0, len(todo), PACK_SIZE):
            part = todo[start : start + PACK_SIZE]
            vectors = embed([texts[i] for _, i in part]).astype(np.float16)
            self._write_pack([key for key, _ in part], vectors)
            logger.info("embedded %d of %d new chunks", min(start + PACK_SIZE, len(todo)), len(todo))
        if todo:
            index = self._refresh()
        dim = self._packs[0].shape[1] if self._packs else 0
        out = np.empty((len(keys), dim), dtype=np.float16)
        for i, key in enumerate(keys):
            slot, row = index[key]
            out[i] = self._packs[slot][row]
        return out, len(missing)

    def _write_pack(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"pack-{sha256_hex(b''.join(keys))[:16]}.npz"
        with atomic_file(self.root / name) as f:
            # (N, 32) uint8, not "S32": numpy strips trailing NUL bytes from S-strings
            np.savez(f, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32), vectors=vectors)
