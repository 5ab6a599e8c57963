"""An approximate dense search for large indexes: a faiss HNSW graph over the chunk vectors, reranked exactly.

The exact dense list costs one int8 matrix-vector product over every chunk
(`index._Int8Vectors`): linear in N. The graph visits a few thousand chunks
whatever N is. It proposes `CANDIDATES` rows among those the caller may see
(the eligibility mask goes into the search as a faiss `IDSelectorBitmap`, so an
invisible chunk is never proposed), and those rows are then scored exactly as
the exact path scores them: the ranking and cosines it returns are the exact
ones whenever the true top `depth` is among the candidates. The share of the
exact top that it finds is measured side by side in `bench/bench_retrieval.py`.

The graph is stored beside the index as `dense.hnsw`: derived from the vectors,
so it is outside the index digest (like `build.json`), and checked on load
against the tree, chunk count and its own sha256; a file that fails is an
`IntegrityError`. `[index] ann_min_chunks` in `loopwright.toml` (default
50,000) says from which corpus size it is built, when the index is committed,
and served; below that, and for selections small enough to gather
(`Selection.rows`), the exact product serves. A walk filtered down to such a
selection misses too much: on the 100,000-chunk benchmark index the retail
tenant's stale chunks (12% of the rows) got 72% of their exact dense top 50
from it at 64 or 128 candidates, against 96% for its fresh ones (61%).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from loopwright.errors import ConfigError, IntegrityError
from loopwright.files import atomic_file

logger = logging.getLogger(__name__)

FILE = "dense.hnsw"
FORMAT = 1
# Measured on 25k real chunk vectors, a 60% mask, 2 busy cores: M 16 / efConstruction 40 builds in 17.6 s against
# 25.0 s for 32 / 80 and finds 98.5% of the exact top 50 at efSearch 128 (99.5% for 32 / 80): build time is what
# bounds a 1M-chunk index here, and the exact rerank makes the top few the exact ones whenever they are found.
M = 16  # graph degree
EF_CONSTRUCTION = 40
EF_SEARCH = 128  # candidates kept while walking the graph
CANDIDATES = 64  # rows proposed per query, reranked exactly; >= DEPTH (50)
_INSTALL_HINT = "pip install faiss-cpu, or set [index] ann_min_chunks = 0 (exact search only)"


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ConfigError("the HNSW dense search needs faiss", hint=_INSTALL_HINT) from None
    return faiss


class DenseGraph:
    """A faiss HNSW graph (inner product, 8-bit scalar-quantised codes) over one index's unit vectors."""

    def __init__(self, graph, tree: str, chunks: int):
        self.graph = graph
        self.tree = tree
        self.chunks = chunks

    @classmethod
    def build(cls, vectors: np.ndarray, tree: str, *, threads: int | None = None) -> DenseGraph:
        """Build over (N, D) unit vectors; `threads` for faiss while building (default: all)."""
        faiss = _faiss()
        started = time.perf_counter()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        graph = faiss.IndexHNSWSQ(x.shape[1], faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = EF_CONSTRUCTION
        before = faiss.omp_get_max_threads()
        if threads:
            faiss.omp_set_num_threads(threads)
        try:
            graph.train(x)
            graph.add(x)
        finally:
            faiss.omp_set_num_threads(before)
        logger.info("built HNSW graph for tree %s: %d vectors, %.1fs", tree[:12], len(x), time.perf_counter() - started)
        return cls(graph, tree, len(x))

    def search(self, qvec: np.ndarray, bitmap: np.ndarray, k: int = CANDIDATES) -> np.ndarray:
        """Row numbers of up to `k` rows allowed by `bitmap` (packed, little bit order) near `qvec`, best first."""
        faiss = _faiss()
        # one query gains nothing from threads; faiss's own OpenMP threads spinning beside torch's cost ~5x here.
        # (omp_set_num_threads holds for the calling thread only, so a build elsewhere keeps its threads)
        faiss.omp_set_num_threads(1)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(EF_SEARCH, k)
        params.sel = faiss.IDSelectorBitmap(bitmap)  # `bitmap` outlives the call: faiss keeps a pointer only
        _, rows = self.graph.search(np.ascontiguousarray(qvec, dtype=np.float32)[None, :], k, params=params)
        rows = rows[0]
        return rows[rows >= 0]

    # ---- persistence --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """`folder/dense.hnsw`: one JSON header line (what it belongs to, the payload's sha256), then faiss's bytes."""
        payload = _faiss().serialize_index(self.graph).tobytes()
        header = {"format": FORMAT, "tree": self.tree, "chunks": self.chunks, "m": M,
                  "ef_construction": EF_CONSTRUCTION, "sha256": hashlib.sha256(payload).hexdigest()}
        with atomic_file(folder / FILE) as f:
            f.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            f.write(payload)

    @classmethod
    def load(cls, folder: Path, tree: str, chunks: int) -> DenseGraph:
        """The graph saved in `folder`, refused unless it belongs to `tree` with `chunks` rows and is whole."""
        path = folder / FILE
        hint = f"delete {path}; it is rebuilt from the index's vectors"
        try:
            raw = path.read_bytes()
            head, _, payload = raw.partition(b"\n")
            header = json.loads(head)
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"HNSW graph {path} is unreadable: {exc}", hint=hint) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise IntegrityError(f"HNSW graph {path} has no format {FORMAT} header", hint=hint)
        if header.get("tree") != tree or header.get("chunks") != chunks:
            raise IntegrityError(
                f"HNSW graph {path} belongs to tree {str(header.get('tree'))[:12]} with {header.get('chunks')} chunks, "
                f"not this index ({tree[:12]}, {chunks} chunks)", hint=hint)
        if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            raise IntegrityError(f"HNSW graph {path} is corrupted (its sha256 does not match its header)", hint=hint)
        try:
            graph = _faiss().deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        except RuntimeError as exc:
            raise IntegrityError(f"HNSW graph {path} is unreadable: {str(exc).splitlines()[0]}", hint=hint) from None
        if graph.ntotal != chunks:
            raise IntegrityError(f"HNSW graph {path} holds {graph.ntotal} vectors, not {chunks}", hint=hint)
        return cls(graph, tree, chunks)

    @classmethod
    def ensure(cls, folder: Path, tree: str, vectors_path: Path, chunks: int) -> DenseGraph:
        """Load the folder's graph, or build it from `vectors_path` (the index's float16 vectors) and save it."""
        if (folder / FILE).is_file():
            return cls.load(folder, tree, chunks)
        graph = cls.build(np.load(vectors_path, mmap_mode="r"), tree)
        graph.save(folder)
        return graph
