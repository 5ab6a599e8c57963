"""The per-tree hybrid index: BM25 (bm25s) plus dense vectors, with filter masks applied before ranking.

An index belongs to a corpus *tree* (the digest of a commit's documents and
their metadata, see `commits.tree_digest`), not to the commit: a revert that
restores an earlier tree reuses that tree's index and ranks byte-for-byte the
same. It is saved under `state_dir/indexes/<tree>/` and loaded, not rebuilt,
once its files match the digest its commit records (`commits.ensure_index`).

Ranking one query (N chunks, D = 384):

1. the caller's eligibility mask (scope, sensitivity ceiling, certification,
   freshness; bool (N,)) is computed from per-document columns, cached;
2. BM25 scores (N,) from bm25s and cosine scores (N,) from one int8
   matrix-vector product are set to "absent" wherever the mask is false, so an
   invisible chunk can never take a rank (a large index may take its dense list
   from an HNSW graph instead, the mask applied inside the search, reranked
   exactly: `loopwright.corpus.ann`);
3. the top `depth` of each list is fused by reciprocal rank
   (score = sum 1 / (60 + rank)); ties break on chunk position, so equal
   inputs give identical output.

Why plain reciprocal-rank fusion: on the sample goldens (138 answerable
questions, top 5) it found a chunk holding the expected answer for 97.1%,
against 94.9-97.1% for rank fusions weighted 0.3/0.5/0.7 towards dense, 94.2%
for dense alone and 90.6% for BM25 alone; no weight beat it, so there is no
weight to tune. `bench/bench_retrieval.py` reports recall@5 of all three.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.corpus.ann import CANDIDATES, DenseGraph
from loopwright.corpus.chunking import Chunk, chunk_document
from loopwright.corpus.documents import SENSITIVITY_LEVELS, Document, ParsedDocument
from loopwright.corpus.embeddings import EmbeddingCache
from loopwright.corpus.rules import RetrievalRules
from loopwright.digests import canonical_json, utc_now
from loopwright.errors import IntegrityError
from loopwright.files import atomic_folder
from loopwright.text import strip_accents

if TYPE_CHECKING:
    from loopwright.embedding import Embedder

logger = logging.getLogger(__name__)


def _bm25s():
    """bm25s, imported on first use; it sets its logger to DEBUG on import, which would print every index build."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s

FORMAT = 3  # 2: Spanish stop words dropped from the BM25 vocabulary; 3: byte-reproducible files (see `save`)
BUILD_FILE = "build.json"  # how the build went (seconds, vectors reused): not ranking data, not in the digest
_BUILD_KEYS = ("embedded", "reused", "seconds", "built_at")
_ARRAYS = ("doc", "ordinal", "start", "end", "kind", "span_ptr", "span_start", "span_end", "span_kind")
RRF_K = 60
DEPTH = 50  # how far down each list fusion looks
GATHERED = 4  # selections whose int8 rows an index keeps gathered (`_Int8Vectors.selection_scores`)
# Numbers keep their separators ("9.9", "5,000", "3.80"); words are any run of
# Unicode letters and digits, so Spanish and Vietnamese text tokenises too.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+")
_SPAN_KINDS = ("sentence", "item", "row")
_CHUNK_KINDS = ("text", "row", "code")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_SPANISH

    # bm25s's list keeps question words; questions are full of them and documents are not.
    english = set(STOPWORDS_EN) | {"what", "how", "which", "who", "when", "where", "why", "does", "do", "can", "i", "my", "me"}
    # Spanish ones too, with and without accents (phone keyboards drop them): "el", "para", "cuál"
    spanish = set(STOPWORDS_SPANISH) | {"cuál", "cuánto", "cuánta", "cuántos", "cuántas", "cómo", "dónde", "cuándo"}
    return frozenset(english | spanish | {strip_accents(w) for w in spanish})


_STOP = _stopwords()


def _stem(word: str) -> str:
    # Plural folding only ("fees" -> "fee", "policies" -> "policy"): enough for
    # questions and answers to meet, and predictable for product names.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased word and number tokens, English and Spanish stop words dropped, plurals folded."""
    text = unicodedata.normalize("NFC", text).lower()
    return [_stem(t) for t in _TOKEN.findall(text) if t not in _STOP]


@dataclass(frozen=True)
class Access:
    """Who is asking: the scopes they may read and their sensitivity ceiling."""

    scopes: frozenset[str]
    max_sensitivity: str

    @property
    def level(self) -> int:
        return SENSITIVITY_LEVELS[self.max_sensitivity]


class Selection:
    """A set of chunks in the forms ranking wants: a mask, and its row numbers when there are few."""

    def __init__(self, mask: np.ndarray):
        import torch

        self.mask = mask  # bool (N,)
        self.count = int(mask.sum())
        self.blocked = torch.from_numpy(~mask)  # bool (N,): filled with "absent" before top-k
        # a small selection is cheaper to gather than to mask: top-k then runs on M << N scores
        self.rows = torch.from_numpy(np.flatnonzero(mask)) if self.count * 4 < len(mask) else None
        # this selection narrowed to a question's language (`CorpusIndex.in_language`), kept with it: masks are
        # cached per index, so without this every question would redo that O(N) work and a new bitmap
        self.by_language: dict[str, Selection] = {}

    def __or__(self, other: Selection) -> Selection:
        return Selection(self.mask | other.mask)

    @cached_property
    def bitmap(self) -> np.ndarray:
        """The mask packed 8 rows a byte, least significant bit first: what a faiss `IDSelectorBitmap` reads."""
        return np.packbits(self.mask, bitorder="little")


@dataclass(frozen=True)
class Masks:
    """Which chunks a caller may rank: `fresh` ones may answer, `stale` ones only explain a decline, and
    `withheld` ones (in force, but out of the caller's scope, above its ceiling or uncertified) only that."""

    fresh: Selection
    stale: Selection
    stale_reasons: dict[int, str]  # doc index -> why it is stale
    withheld: Selection

    @cached_property
    def either(self) -> Selection:
        """`fresh | stale`, built once per cached masks (what answers when stale evidence may)."""
        return self.fresh | self.stale


@dataclass(frozen=True)
class Ranked:
    """One chunk's place in a fused ranking."""

    chunk: int
    rank: int
    score: float  # reciprocal-rank fusion score
    cosine: float
    bm25: float


class _Int8Vectors:
    """The chunk vectors as int8 for scoring: one int8 matrix-vector product per query.

    Measured on the 100,000-chunk benchmark index, one thread: 3.6 ms against
    4.7 ms for the float16 product, at half the memory (38 MB), cosines within
    0.004 of float32 (49 of the same top 50). One scale for the whole matrix
    is enough: rows are unit vectors, so no element is far from the others.
    """

    def __init__(self, matrix, scale: float):
        self.matrix = matrix  # (N, D) int8
        self.scale = scale
        self._gathered: OrderedDict[Selection, Any] = OrderedDict()  # selection -> (len(rows), D) int8, its rows
        self._lock = threading.Lock()

    @classmethod
    def build(cls, vectors) -> _Int8Vectors | None:
        import torch

        if len(vectors) < 32:
            return None  # the int8 kernel wants a few rows; tiny corpora stay in float16
        top = float(vectors.abs().max()) or 1.0
        scale = 127.0 / top
        quantised = cls(torch.round(vectors.float() * scale).to(torch.int8).contiguous(), scale)
        try:
            quantised.scores(np.ones(vectors.shape[1], dtype=np.float32))
        except (RuntimeError, AttributeError):  # no int8 kernel on this build: float16 it is
            return None
        return quantised

    @staticmethod
    def _query(qvec: np.ndarray):
        import torch

        q = torch.from_numpy(qvec)
        q_scale = 127.0 / max(float(q.abs().max()), 1e-12)
        return torch.round(q * q_scale).to(torch.int8), q_scale

    def scores(self, qvec: np.ndarray):
        """(N,) float32 cosine estimates for a unit query vector."""
        return self._product(self.matrix, qvec)

    def row_scores(self, qvec: np.ndarray, rows):
        """`scores(qvec)[rows]` without scoring the other rows: the same int8 product over the gathered rows."""
        import torch

        # int8 all the way: a float copy of a large selection's rows (the stale chunks) cost more than the product.
        # index_select, not `matrix[rows]`: advanced indexing copies int8 rows element by element (15k of 100k
        # rows: 5.5 ms of CPU against 1.0 ms, measured on 2 busy cores)
        return self._product(torch.index_select(self.matrix, 0, rows), qvec)

    def selection_scores(self, qvec: np.ndarray, selection: Selection):
        """`row_scores(qvec, selection.rows)`, the rows gathered once per selection (the last `GATHERED` kept).

        With a graph, the stale list is the one dense list still scored row by row; at 100,000 chunks gathering
        its ~12k rows was half of that (0.5 of 1.05 ms of CPU a query). Kept for a few selections only: one
        holds at most a quarter of the rows (`Selection.rows`), 384 bytes each.
        """
        import torch

        with self._lock:
            picked = self._gathered.get(selection)
            if picked is not None:
                self._gathered.move_to_end(selection)
        if picked is None:
            picked = torch.index_select(self.matrix, 0, selection.rows)
            with self._lock:
                self._gathered[selection] = picked
                while len(self._gathered) > GATHERED:
                    self._gathered.popitem(last=False)
        return self._product(picked, qvec)

    def _product(self, matrix, qvec: np.ndarray):
        import torch

        q8, q_scale = self._query(qvec)
        raw = torch._int_mm(matrix, q8[:, None].contiguous())[:, 0]  # (len(matrix),) int32
        return raw.float() / (self.scale * q_scale)


class CorpusIndex:
    """Chunks, their spans, BM25 and vectors for one corpus tree; read-only once built."""

    def __init__(self, tree: str, docs: list[Document], texts: list[str], chunks: dict[str, Any], vectors, bm25, info):
        import torch

        self.tree = tree
        self.docs = docs
        self.texts = texts
        self.info = info
        c = chunks
        self.chunk_doc = np.asarray(c["doc"], dtype=np.int32)
        self.chunk_ordinal = np.asarray(c["ordinal"], dtype=np.int32)
        self.chunk_start = np.asarray(c["start"], dtype=np.int64)
        self.chunk_end = np.asarray(c["end"], dtype=np.int64)
        self.chunk_kind = np.asarray(c["kind"], dtype=np.int8)
        self.chunk_hash: list[str] = c["hash"]
        self.chunk_context: list[str] = c["context"]
        self.span_ptr = np.asarray(c["span_ptr"], dtype=np.int64)
        self.span_start = np.asarray(c["span_start"], dtype=np.int64)
        self.span_end = np.asarray(c["span_end"], dtype=np.int64)
        self.span_kind = np.asarray(c["span_kind"], dtype=np.int8)
        self.vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float16))  # (N, D)
        self._int8 = _Int8Vectors.build(self.vectors)
        self.graph: DenseGraph | None = None  # set by `attach_graph`: the dense list then comes from it
        self.bm25 = bm25
        n_tokens = len(bm25.vocab_dict) if bm25 is not None else 0
        df = np.diff(bm25.scores["indptr"]).astype(np.float32) if bm25 is not None else np.zeros(0, np.float32)
        n = max(len(self), 1)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)[:n_tokens]  # (V,)
        self._doc_level = np.array([d.sensitivity_level for d in docs], dtype=np.int8)
        self._doc_certified = np.array([d.certified for d in docs], dtype=bool)
        self._doc_audience = [frozenset(d.audience) for d in docs]
        self._mask_cache: OrderedDict[tuple, Masks] = OrderedDict()
        self._mask_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.chunk_doc)

    # ---- identity -----------------------------------------------------------------------------

    def chunk_id(self, i: int) -> str:
        return f"{self.docs[self.chunk_doc[i]].id}#{int(self.chunk_ordinal[i])}"

    def chunk_text(self, i: int) -> str:
        return self.texts[self.chunk_doc[i]][self.chunk_start[i] : self.chunk_end[i]]

    def spans_of(self, i: int) -> list[tuple[int, int, str]]:
        a, b = self.span_ptr[i], self.span_ptr[i + 1]
        return [
            (int(s), int(e), _SPAN_KINDS[k])
            for s, e, k in zip(self.span_start[a:b], self.span_end[a:b], self.span_kind[a:b], strict=True)
        ]

    # ---- filters ------------------------------------------------------------------------------

    def masks(self, access: Access, rules: RetrievalRules, as_of: date) -> Masks:
        """Eligibility masks for a caller, computed per document and spread to chunks (cached)."""
        key = (access, rules.certified_only, rules.max_age_days, as_of)
        with self._mask_lock:
            if (hit := self._mask_cache.get(key)) is not None:
                self._mask_cache.move_to_end(key)
                return hit
        visible = np.array([bool(aud & access.scopes) for aud in self._doc_audience], dtype=bool)
        visible &= self._doc_level <= access.level
        if rules.certified_only:
            visible &= self._doc_certified
        fresh_doc = np.zeros(len(self.docs), dtype=bool)
        stale_doc = np.zeros(len(self.docs), dtype=bool)
        reasons: dict[int, str] = {}
        for d in np.flatnonzero(visible):
            doc = self.docs[d]
            if doc.effective_date > as_of:
                continue  # not in force yet: neither evidence nor a reason to decline
            why = rules.stale_reason(doc, as_of)
            if why is None:
                fresh_doc[d] = True
            else:
                stale_doc[d] = True
                reasons[int(d)] = why
        in_force = np.array([doc.effective_date <= as_of for doc in self.docs], dtype=bool)
        withheld_doc = ~visible & in_force
        masks = Masks(Selection(fresh_doc[self.chunk_doc]), Selection(stale_doc[self.chunk_doc]), reasons,
                      Selection(withheld_doc[self.chunk_doc]))
        with self._mask_lock:
            self._mask_cache[key] = masks
            if len(self._mask_cache) > 64:
                self._mask_cache.popitem(last=False)
        return masks

    @cached_property
    def _translations(self) -> tuple[np.ndarray, np.ndarray]:
        """Per document: the page it is a version of (an index shared by a page and its translations), its language."""
        pages: dict[str, int] = {}
        page = np.array([pages.setdefault(d.translation_of or d.id, len(pages)) for d in self.docs], dtype=np.int32)
        return page, np.array([d.language for d in self.docs], dtype=object)

    def in_language(self, allowed: Selection, language: str) -> Selection:
        """`allowed` without the chunks of documents whose translation into `language` is allowed too.

        A corpus holding a page in three languages would otherwise answer an English question from the Spanish
        page when its words match better, and a Spanish one from English. A page with no version in `language`
        stays: an English-only page still answers a Spanish question.
        """
        found = allowed.by_language.get(language)
        if found is None:
            found = allowed.by_language.setdefault(language, self._in_language(allowed, language))
        return found

    def _in_language(self, allowed: Selection, language: str) -> Selection:
        page, lang = self._translations
        doc_ok = np.zeros(len(self.docs), dtype=bool)
        doc_ok[self.chunk_doc[allowed.mask]] = True
        covered = np.unique(page[doc_ok & (lang == language)])
        shadowed = doc_ok & (lang != language) & np.isin(page, covered)
        if not shadowed.any():
            return allowed
        return Selection(allowed.mask & ~shadowed[self.chunk_doc])

    # ---- scoring ------------------------------------------------------------------------------

    def query_terms(self, query: str) -> tuple[list[int], np.ndarray]:
        """Vocabulary ids of the query's tokens (unknown tokens dropped, repeats kept once) and their idf."""
        if self.bm25 is None:
            return [], np.zeros(0, np.float32)
        ids = sorted({self.bm25.vocab_dict[t] for t in tokenize(query) if t in self.bm25.vocab_dict})
        return ids, self.idf[ids] if ids else np.zeros(0, np.float32)

    def lexical_scores(self, query: str) -> np.ndarray:
        """(N,) float32 BM25 scores."""
        ids, _ = self.query_terms(query)
        if not ids:
            return np.zeros(len(self), dtype=np.float32)
        return self.bm25.get_scores_from_ids(ids)

    def dense_scores(self, qvec: np.ndarray):
        """(N,) float32 torch tensor of cosine similarities to a unit query vector."""
        import torch

        if self._int8 is not None:
            return self._int8.scores(qvec)
        return (self.vectors @ torch.from_numpy(qvec.astype(np.float16))).float()

    def selection_scores(self, qvec: np.ndarray, selection: Selection):
        """Cosines of `selection.rows`, in that order (see `_Int8Vectors.selection_scores`)."""
        if self._int8 is not None:
            return self._int8.selection_scores(qvec, selection)
        return self.row_scores(qvec, selection.rows)

    def row_scores(self, qvec: np.ndarray, rows):
        """Cosines of `rows` (a torch index tensor), as `dense_scores(qvec)[rows]`."""
        import torch

        if self._int8 is not None:
            return self._int8.row_scores(qvec, rows)
        return (torch.index_select(self.vectors, 0, rows) @ torch.from_numpy(qvec.astype(np.float16))).float()

    def dense(self, qvec: np.ndarray | None) -> DenseQuery:
        """One query's dense side (no vector: every cosine 0, for BM25 alone)."""
        return DenseQuery(self, qvec)

    def scores(self, query: str, qvec: np.ndarray) -> tuple[np.ndarray, DenseQuery]:
        """(bm25 (N,) float32 numpy for every chunk, the query's `DenseQuery`)."""
        return self.lexical_scores(query), self.dense(qvec)

    def attach_graph(self, folder: Path) -> None:
        """Serve the dense list from the HNSW graph saved in `folder` (this index's folder), built there if missing."""
        self.graph = DenseGraph.ensure(folder, self.tree, folder / "vectors.npy", len(self))

    @staticmethod
    def top(scores, allowed: Selection | np.ndarray, depth: int, *, positive: bool = False) -> list[int]:
        """Row numbers of the best `depth` scores among `allowed`, best first; `positive`: only scores > 0.

        `allowed` is applied before selection, so a row outside it never takes a place.
        """
        import torch

        allowed = allowed if isinstance(allowed, Selection) else Selection(allowed)
        depth = min(depth, allowed.count)
        if depth <= 0:
            return []
        values = torch.from_numpy(scores) if isinstance(scores, np.ndarray) else scores
        if allowed.rows is not None:
            vals, idx = torch.topk(values[allowed.rows], depth)
            idx = allowed.rows[idx]
        else:
            vals, idx = torch.topk(values.masked_fill(allowed.blocked, -math.inf), depth)
        rows = idx.tolist()
        if positive:
            rows = [i for i, v in zip(rows, vals.tolist(), strict=True) if v > 0]
        return rows

    @staticmethod
    def fuse(lists: list[list[int]], lexical: np.ndarray, dense: DenseQuery, k: int) -> list[Ranked]:
        """Reciprocal-rank fusion of ranked row lists; ties go to the earlier row."""
        fused: dict[int, float] = {}
        for rows in lists:
            for r, i in enumerate(rows):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + r + 1)
        order = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        cosines = dense.at([i for i, _ in order])
        return [Ranked(i, r + 1, s, c, float(lexical[i])) for r, ((i, s), c) in enumerate(zip(order, cosines, strict=True))]

    def rank(
        self, lexical: np.ndarray, dense: DenseQuery, allowed: Selection | np.ndarray, k: int, *, depth: int = DEPTH,
        mode: str = "hybrid",
    ) -> list[Ranked]:
        """Top `k` chunks among `allowed` by reciprocal-rank fusion of the two lists (or one, by `mode`)."""
        allowed = allowed if isinstance(allowed, Selection) else Selection(allowed)
        lists = []
        if mode in ("hybrid", "bm25"):
            lists.append(self.top(lexical, allowed, max(depth, k), positive=True))
        if mode in ("hybrid", "dense"):
            lists.append(dense.top(allowed, max(depth, k)))
        return self.fuse(lists, lexical, dense, k)

    # ---- persistence --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write to `folder` atomically: a temporary sibling, renamed into place.

        The same tree and vectors always give the same bytes (no timestamps:
        `.npy` files, not a zip; build timings go to `build.json`), so the
        digest a corpus commit records for its index can be checked again at
        every load and reproduced by a rebuild (see `commits.ensure_index`).
        """
        with atomic_folder(folder) as tmp:
            docs = [{"meta": d.to_json(), "text": t} for d, t in zip(self.docs, self.texts, strict=True)]
            (tmp / "docs.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
            (tmp / "chunks.json").write_text(
                json.dumps({"hash": self.chunk_hash, "context": self.chunk_context}, ensure_ascii=False), encoding="utf-8"
            )
            (tmp / "arrays").mkdir()
            columns = {"doc": self.chunk_doc, "ordinal": self.chunk_ordinal, "start": self.chunk_start, "end": self.chunk_end,
                       "kind": self.chunk_kind, "span_ptr": self.span_ptr, "span_start": self.span_start,
                       "span_end": self.span_end, "span_kind": self.span_kind}
            for name in _ARRAYS:
                np.save(tmp / "arrays" / f"{name}.npy", columns[name], allow_pickle=False)
            if self.vectors is None:
                raise IntegrityError(f"index {self.tree[:12]} was loaded for serving and cannot be saved again")
            np.save(tmp / "vectors.npy", self.vectors.numpy())
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"), show_progress=False)
            (tmp / "index.json").write_text(canonical_json({k: v for k, v in self.info.items() if k not in _BUILD_KEYS}), encoding="utf-8")
            (tmp / BUILD_FILE).write_text(canonical_json({k: self.info[k] for k in _BUILD_KEYS if k in self.info}), encoding="utf-8")

    @staticmethod
    def is_current(folder: Path) -> bool:
        """Whether `folder` holds an index this version reads (an older format is rebuilt, not read)."""
        try:
            return json.loads((folder / "index.json").read_text(encoding="utf-8")).get("format") == FORMAT
        except (OSError, ValueError):
            return True  # unreadable: `load` says why

    @classmethod
    def load(cls, folder: Path) -> CorpusIndex:
        bm25s = _bm25s()

        try:
            info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
            if info.get("format") != FORMAT:
                raise IntegrityError(f"index {folder.name[:12]} has format {info.get('format')}, expected {FORMAT}")
            docs_raw = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
            strings = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
            chunks = {name: np.load(folder / "arrays" / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
            chunks.update(strings)
            if (folder / BUILD_FILE).is_file():
                info = {**info, **json.loads((folder / BUILD_FILE).read_text(encoding="utf-8"))}
            vectors = np.load(folder / "vectors.npy")
            bm25 = (
                bm25s.BM25.load(str(folder / "bm25"), show_progress=False, verbosity=0)
                if (folder / "bm25").is_dir()
                else None
            )
        except (OSError, ValueError, KeyError) as exc:
            raise IntegrityError(f"index {folder.name[:12]} is unreadable: {exc}", hint="delete the folder; it is rebuilt") from None
        docs = [Document.model_validate(d["meta"]) for d in docs_raw]
        return cls(info["tree"], docs, [d["text"] for d in docs_raw], chunks, vectors, bm25, info).for_serving()

    def for_serving(self) -> CorpusIndex:
        """Drop the float16 vectors when the int8 copy scores (they stay on disk); halves the memory."""
        if self._int8 is not None:
            self.vectors = None
        return self

    # ---- building -----------------------------------------------------------------------------

    @classmethod
    def build(
        cls, tree: str, documents: list[tuple[Document, ParsedDocument]], embedder: Embedder, cache: EmbeddingCache
    ) -> CorpusIndex:
        """Chunk, tokenise and embed `documents` (metadata as committed, parsed file), reusing cached vectors."""
        bm25s = _bm25s()

        started = time.perf_counter()
        docs = [meta for meta, _ in documents]
        texts = [parsed.text for _, parsed in documents]
        all_chunks: list[tuple[int, Chunk]] = [
            (d, c) for d, (_, parsed) in enumerate(documents) for c in chunk_document(parsed)
        ]
        index_texts = [c.index_text for _, c in all_chunks]
        hashes = [c.content_hash for _, c in all_chunks]
        vectors, embedded = cache.vectors_for(hashes, index_texts, embedder.encode)
        if not all_chunks:
            vectors = np.zeros((0, 384), dtype=np.float16)
        bm25 = None
        if all_chunks:
            bm25 = bm25s.BM25()
            # an empty token list would break bm25s; a chunk of stop words only still needs a row
            bm25.index([tokenize(t) or ["\u2205"] for t in index_texts], show_progress=False)
        span_ptr, span_start, span_end, span_kind = [0], [], [], []
        for _, c in all_chunks:
            for s in c.spans:
                span_start.append(s.start)
                span_end.append(s.end)
                span_kind.append(_SPAN_KINDS.index(s.kind))
            span_ptr.append(len(span_start))
        chunks = {
            "doc": [d for d, _ in all_chunks],
            "ordinal": [c.ordinal for _, c in all_chunks],
            "start": [c.start for _, c in all_chunks],
            "end": [c.end for _, c in all_chunks],
            "kind": [_CHUNK_KINDS.index(c.kind) for _, c in all_chunks],
            "hash": hashes,
            "context": [c.context for _, c in all_chunks],
            "span_ptr": span_ptr,
            "span_start": span_start,
            "span_end": span_end,
            "span_kind": span_kind,
        }
        info = {
            "format": FORMAT,
            "tree": tree,
            "embedder": embedder.key,
            "documents": len(docs),
            "chunks": len(all_chunks),
            "spans": len(span_start),
            "embedded": embedded,
            "reused": len(all_chunks) - embedded,
            "seconds": round(time.perf_counter() - started, 3),
            "built_at": utc_now(),
        }
        logger.info("indexed tree %s: %d chunks, %d embedded, %.2fs", tree[:12], len(all_chunks), embedded, info["seconds"])
        return cls(tree, docs, texts, chunks, vectors, bm25, info)


class DenseQuery:
    """One query's cosines: every chunk's from the exact product, or, with a graph, only those of the rows it needs.

    `top` is the dense list for a selection. Exact: top-k of the (N,) scores.
    With a graph: a selection small enough to gather is scored exactly (a
    graph walk filtered that far misses too much, see `loopwright.corpus.ann`);
    a large one takes the graph's `CANDIDATES` rows and ranks them by their
    exact cosines.
    """

    def __init__(self, index: CorpusIndex, qvec: np.ndarray | None):
        import torch

        self._index = index
        self._qvec = qvec
        self.full = None
        if qvec is None:
            self.full = torch.zeros(len(index))
        elif index.graph is None:
            self.full = index.dense_scores(qvec)

    def top(self, allowed: Selection, depth: int) -> list[int]:
        """Row numbers of the best `depth` cosines among `allowed`, best first."""
        import torch

        if self.full is not None:
            return CorpusIndex.top(self.full, allowed, depth)
        if min(depth, allowed.count) <= 0:
            return []
        if allowed.rows is not None:
            rows = allowed.rows
            scores = self._index.selection_scores(self._qvec, allowed)
        else:
            rows = torch.from_numpy(self._index.graph.search(self._qvec, allowed.bitmap, max(CANDIDATES, depth)))
            scores = self._index.row_scores(self._qvec, rows)
        _, idx = torch.topk(scores, min(depth, len(rows)))
        return rows[idx].tolist()

    def at(self, rows: list[int]) -> list[float]:
        """Cosines of `rows`, in order."""
        import torch

        if self.full is not None:
            return self.full[rows].tolist()
        return self._index.row_scores(self._qvec, torch.tensor(rows, dtype=torch.long)).tolist() if rows else []
