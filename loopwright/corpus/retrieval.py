"""Retrieval over a corpus commit: filtered, fused, cut down to minimal spans, declined when stale or missing.

`Retriever(ws).search(query, tenant=..., commit=...)` is what the gateway and
`loopwright search` call. The outcome is one of:

- `ok`: fresh, certified, in-scope evidence above `rules.min_relevance`; the
  result carries minimal spans (a sentence, list item or table row) with doc
  id, commit, character offsets and score, plus pruned passages for a generator;
- `stale`: the best evidence in scope is stale (retired, or older than
  `rules.max_age_days`); with `rules.decline_if_stale` the caller declines and
  the stale spans are reported only as `stale_evidence`;
- `missing`: nothing in scope is relevant enough; the caller declines.

Every result has a fingerprint: sha256 over the corpus tree, the status, and
the ranked chunk ids with their content hashes. Two results with the same
fingerprint used the same evidence in the same order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from loopwright.corpus import commits
from loopwright.corpus.index import DEPTH, Access, CorpusIndex, Ranked, tokenize
from loopwright.corpus.rules import RetrievalRules
from loopwright.digests import digest_of
from loopwright.errors import InvalidInput, NotFound
from loopwright.registry.digest_cache import DigestCache

if TYPE_CHECKING:
    from loopwright.embedding import Embedder
    from loopwright.query_encoder import ExactQueryEncoder, OnnxQueryEncoder
    from loopwright.workspace import Workspace

Status = Literal["ok", "stale", "missing"]
STALE_K = 3  # stale chunks ranked to judge a decline and to show as stale evidence
PASSAGE_WHOLE_CHARS = 400  # a chunk up to this long goes to the generator whole
MIN_SPAN_COVERAGE = 0.34  # a span of a long chunk reaches the generator if it holds this share of the query's terms


@dataclass(frozen=True)
class Span:
    """One cited piece of evidence: `text == document_text[start:end]`."""

    doc_id: str
    title: str
    commit: str
    chunk_id: str
    rank: int
    start: int
    end: int
    kind: str
    text: str
    context: str
    score: float
    relevance: float
    stale: str | None = None


@dataclass(frozen=True)
class Passage:
    """What a generator is handed for one ranked chunk: its text, long low-signal parts pruned."""

    doc_id: str
    chunk_id: str
    text: str
    pruned: bool


@dataclass(frozen=True)
class RetrievalResult:
    query: str
    commit: str
    commit_ref: str
    tree: str
    status: Status
    decline: bool
    reason: str
    spans: list[Span]
    passages: list[Passage]
    stale_evidence: list[Span]
    fingerprint: str
    as_of: str
    scopes: list[str]
    max_sensitivity: str
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Retriever:
    """Loads commit indexes on demand and keeps the last few warm (a rollback is then a dictionary hit)."""

    def __init__(self, ws: Workspace, *, embedder: Embedder | None = None, warm: int = 4, query_encoder: str | None = None):
        self.ws = ws
        self._embedder = embedder
        self._query_encoder_name = query_encoder  # None: the workspace's [embedding] query_encoder
        self._query_encoder: ExactQueryEncoder | OnnxQueryEncoder | None = None
        self._indexes: DigestCache[CorpusIndex] = DigestCache(limit=warm)  # by tree digest
        self._commits: DigestCache[commits.Commit] = DigestCache()
        self._build_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lw-lexical")

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from loopwright.embedding import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    @property
    def query_encoder(self) -> ExactQueryEncoder | OnnxQueryEncoder:
        """What embeds a query here (see `loopwright.query_encoder`); chunk vectors are the embedder's either way."""
        if self._query_encoder is None:
            from loopwright.query_encoder import ExactQueryEncoder, get_query_encoder

            name = self._query_encoder_name or self.ws.settings.embedding.query_encoder
            if name == "exact" and self._embedder is not None:
                self._query_encoder = ExactQueryEncoder(self._embedder)
            else:
                self._query_encoder = get_query_encoder(name)
        return self._query_encoder

    def commit(self, ref: str | None = None, name: str | None = None) -> commits.Commit:
        """The commit `ref` names (default: the corpus head); manifests are parsed once per digest."""
        from loopwright.registry.artifacts import resolve

        if ref is None or ref.strip().lower() == "head":
            try:
                artifact = resolve(self.ws, f"corpus/{commits.corpus_name(self.ws, name)}", kind="corpus")
            except NotFound:
                raise NotFound("the corpus has no commits yet", hint="`loopwright corpus add` then `corpus commit`") from None
            return self._commits.get(artifact.digest, lambda: commits.commit_of(self.ws, artifact))
        for known in self._commits.values():
            if ref in (known.digest, known.ref):
                return known
        found = commits.get_commit(self.ws, ref, name)
        return self._commits.get(found.digest, lambda: found)

    def index(self, commit: commits.Commit) -> CorpusIndex:
        """The commit's index: warm, loaded from disk, or built."""
        return self._indexes.get(commit.tree, lambda: self._load_index(commit))

    def _load_index(self, commit: commits.Commit) -> CorpusIndex:
        # One load or build at a time, even of different commits: a build embeds the whole corpus.
        with self._build_lock:
            index = commits.ensure_index(self.ws, commit.tree, commit.documents, commit.index_digest)
            threshold = self.ws.settings.index.ann_min_chunks
            if threshold and len(index) >= threshold:
                index.attach_graph(commits.index_folder(self.ws, commit.tree))
            return index

    def search(
        self,
        query: str,
        *,
        commit: str | commits.Commit | None = None,
        tenant: str | None = None,
        scopes: list[str] | tuple[str, ...] | None = None,
        max_sensitivity: str | None = None,
        rules: RetrievalRules | None = None,
        k: int = 5,
        as_of: date | None = None,
        mode: str = "hybrid",
        language: str | None = None,
        spans_per_chunk: int = 1,
        query_vector: np.ndarray | None = None,
    ) -> RetrievalResult:
        """Rank the commit's chunks that the caller may see and cite minimal spans (see the module docstring).

        Give `tenant` (its scopes and ceiling come from `rules`) or `scopes` and
        `max_sensitivity`. `rules` default to the deployed policy's `[retrieval]`. `language`, the question's,
        prefers a document's translation into it over its other versions (`CorpusIndex.in_language`).
        `spans_per_chunk` above 1 cites up to that many spans of each ranked chunk (`_spans`), for a reader
        that picks the answering one itself.
        `query_vector`: the embedder's own (exact) vector of `query`, already made (the gateway's triage makes
        it), used instead of embedding the query again with the query encoder.
        """
        t0 = time.perf_counter()
        query = " ".join(query.split())
        if not query:
            raise InvalidInput("the query is empty")
        if not 1 <= k <= 100:
            raise InvalidInput(f"k must be between 1 and 100, not {k}")
        if not 1 <= spans_per_chunk <= 20:
            raise InvalidInput(f"spans_per_chunk must be between 1 and 20, not {spans_per_chunk}")
        if mode not in ("hybrid", "bm25", "dense"):
            raise InvalidInput(f"unknown retrieval mode {mode!r}", hint="hybrid, bm25 or dense")
        rules = rules or deployed_rules(self.ws)
        access = _access(rules, tenant, scopes, max_sensitivity)
        as_of = as_of or date.today()
        c = commit if isinstance(commit, commits.Commit) else self.commit(commit)
        index = self.index(c)
        masks = index.masks(access, rules, as_of)
        answerable = masks.fresh if rules.decline_if_stale else masks.either
        if language:
            answerable = index.in_language(answerable, language)
        named = {"answer": (answerable, k)}  # what answers, then what only explains a decline
        if rules.decline_if_stale:
            named["stale"] = (masks.stale, STALE_K)
        if rules.decline_if_withheld:
            named["withheld"] = (masks.withheld, STALE_K)
        groups = list(named.values())
        t1 = time.perf_counter()
        with self.embedder.query_threads():
            qvec, lexical_job = (query_vector if mode != "bm25" else None), None
            if qvec is None and mode != "bm25":
                # BM25 and its top-k run on the other core while the query is embedded; with nothing to embed, a
                # hop to the pool and back would only add two thread wake-ups
                lexical_job = self._pool.submit(_lexical_tops, index, query, groups, mode)
                qvec = self.query_encoder.encode(query)
            t2 = time.perf_counter()
            dense = index.dense(qvec)
            # the dense lists too before waiting for BM25: the waiting thread then wakes once, at the end
            dense_tops = [dense.top(allowed, max(DEPTH, top_k)) if mode != "bm25" else None for allowed, top_k in groups]
            lexical, lexical_tops = lexical_job.result() if lexical_job else _lexical_tops(index, query, groups, mode)
            rankings = []
            for (_, top_k), lexical_top, dense_top in zip(groups, lexical_tops, dense_tops, strict=True):
                lists = [lexical_top] if mode != "dense" else []
                if dense_top is not None:
                    lists.append(dense_top)
                rankings.append(index.fuse(lists, lexical, dense, top_k))
            by_name = dict(zip(named, rankings, strict=True))
            ranked, stale_ranked, withheld_ranked = by_name["answer"], by_name.get("stale", []), by_name.get("withheld", [])
            t3 = time.perf_counter()

        status, answer, reason = _verdict(index, masks, ranked, stale_ranked, rules, mode, withheld_ranked)
        vocab = index.bm25.vocab_dict if index.bm25 is not None else {}
        spans = _spans(index, c, query, answer, vocab, masks.stale_reasons, spans_per_chunk)
        passages = _passages(index, answer, spans[: len(answer)], query)
        stale_spans = _spans(index, c, query, stale_ranked, vocab, masks.stale_reasons) if status == "stale" else []
        used = answer or (stale_ranked if status == "stale" else [])
        evidence = {"tree": c.tree, "status": status, "chunks": [[index.chunk_id(r.chunk), index.chunk_hash[r.chunk], r.rank] for r in used]}
        if spans_per_chunk > 1:  # other spans of the same chunks: other evidence (one span keeps the fingerprints it had)
            evidence["spans_per_chunk"] = spans_per_chunk
        fingerprint = digest_of(evidence)
        t4 = time.perf_counter()
        return RetrievalResult(
            query=query,
            commit=c.digest,
            commit_ref=c.ref,
            tree=c.tree,
            status=status,
            decline=status == "missing" or (status == "stale" and rules.decline_if_stale),
            reason=reason,
            spans=spans,
            passages=passages,
            stale_evidence=stale_spans,
            fingerprint=fingerprint,
            as_of=as_of.isoformat(),
            scopes=sorted(access.scopes),
            max_sensitivity=access.max_sensitivity,
            timings_ms={
                "load": round((t1 - t0) * 1e3, 3),
                "embed": round((t2 - t1) * 1e3, 3),
                "rank": round((t3 - t2) * 1e3, 3),
                "spans": round((t4 - t3) * 1e3, 3),
            },
        )


def _lexical_tops(index: CorpusIndex, query: str, groups, mode: str) -> tuple[np.ndarray, list[list[int]]]:
    """BM25 scores and, per (selection, k), the BM25 top list (empty in dense-only mode)."""
    if mode == "dense":
        return np.zeros(len(index), np.float32), [[] for _ in groups]
    lexical = index.lexical_scores(query)
    return lexical, [index.top(lexical, allowed, max(DEPTH, top_k), positive=True) for allowed, top_k in groups]


def _verdict(
    index: CorpusIndex, masks, ranked: list[Ranked], stale_ranked: list[Ranked], rules: RetrievalRules, mode: str,
    withheld_ranked: Sequence[Ranked] = (),
) -> tuple[Status, list[Ranked], str]:
    """ok, stale or missing; the chunks to answer from; and why. A chunk the caller may not cite (`withheld`)
    that beats the best fresh one by `rules.withheld_margin` (cosine) makes it missing: the question is about
    that document, and the fresh chunks merely share its words."""
    best_fresh = max((r.cosine for r in ranked), default=-1.0)
    best_stale = max((r.cosine for r in stale_ranked), default=-1.0)
    if mode == "bm25":  # no cosine to judge by: any lexical match counts as evidence
        best_fresh = 1.0 if ranked else -1.0
        best_stale = 1.0 if stale_ranked else -1.0
    if stale_ranked and best_stale >= rules.min_relevance and (
        best_fresh < rules.min_relevance or _stale_is_best(stale_ranked, ranked, rules.stale_margin)
    ):
        d = int(index.chunk_doc[stale_ranked[0].chunk])
        why = masks.stale_reasons.get(d, "stale")
        return "stale", [], f"the best evidence, {index.docs[d].id!r}, is stale ({why}); decline rather than answer from it"
    best_withheld = max((r.cosine for r in withheld_ranked), default=-1.0)
    if mode != "bm25" and best_withheld >= rules.min_relevance and best_withheld > best_fresh + rules.withheld_margin:
        return "missing", [], "the best match is a document this caller may not cite (out of scope or uncertified); decline"
    if ranked and best_fresh >= rules.min_relevance:
        answer = [r for r in ranked if r.cosine >= rules.min_relevance or mode == "bm25"] or ranked[:1]
        lead = int(index.chunk_doc[answer[0].chunk])
        if lead in masks.stale_reasons:  # only when decline_if_stale is off
            return "stale", answer, f"answering from stale evidence ({masks.stale_reasons[lead]}), as the policy allows"
        return "ok", answer, "fresh, certified evidence in scope"
    return "missing", [], "no certified, current document in the caller's scope answers this; decline"


def _stale_is_best(stale: list[Ranked], fresh: list[Ranked], margin: float) -> bool:
    """Whether stale evidence beats the fresh: clearly in meaning (cosine by more than `margin`), or on both signals.

    Stale and fresh documents are often two versions of one text, close on
    both signals; a narrow win then goes to the fresh version.
    """
    if not fresh:
        return True
    cos_s, cos_f = max(r.cosine for r in stale), max(r.cosine for r in fresh)
    bm_s, bm_f = max(r.bm25 for r in stale), max(r.bm25 for r in fresh)
    return cos_s > cos_f + margin or (cos_s > cos_f and bm_s > bm_f)


def _access(rules: RetrievalRules, tenant: str | None, scopes, max_sensitivity: str | None) -> Access:
    if tenant is not None:
        if scopes:
            raise InvalidInput("give a tenant or scopes, not both")
        t = rules.tenant(tenant)
        return Access(frozenset(t.scopes), t.max_sensitivity)
    if not scopes:
        raise InvalidInput("retrieval needs a caller: a tenant, or scopes with a sensitivity ceiling")
    ceiling = max_sensitivity or "public"
    from loopwright.corpus.documents import SENSITIVITY_LEVELS

    if ceiling not in SENSITIVITY_LEVELS:
        raise InvalidInput(f"unknown sensitivity {ceiling!r}", hint="public, internal or restricted")
    return Access(frozenset(scopes), ceiling)


def deployed_rules(ws: Workspace) -> RetrievalRules:
    """The `[retrieval]` rules of the stable `policy` artifact; the defaults when none is deployed."""
    from loopwright.registry.artifacts import read_file
    from loopwright.registry.deployment import deployed_artifact

    policy = deployed_artifact(ws, "policy")
    if policy is None or "policy.toml" not in policy.files:
        return RetrievalRules()
    return _RULES.get(
        policy.digest, lambda: RetrievalRules.from_policy_toml(read_file(ws, policy, "policy.toml"), origin=f"{policy.ref}:policy.toml")
    )


_RULES: DigestCache[RetrievalRules] = DigestCache()


def _coverage(text: str, query_terms: set[str], idf_by_term: dict[str, float]) -> tuple[float, float]:
    """(share of the query's distinct terms in `text`, share of their idf weight)."""
    if not query_terms:
        return (0.0, 0.0)
    present = query_terms & set(tokenize(text))
    total = sum(idf_by_term.values()) or 1.0
    return (len(present) / len(query_terms), sum(idf_by_term.get(t, 0.0) for t in present) / total)


def _spans(index: CorpusIndex, c: commits.Commit, query: str, ranked: list[Ranked], vocab, stale_reasons,
           per_chunk: int = 1) -> list[Span]:
    """The minimal span of each ranked chunk: the one holding most of the query's terms (rarer ones break ties).

    A row keeps its table header in `context`. With no query term in any span
    (a purely semantic match), the chunk's first span stands for it. With
    `per_chunk` above 1, each chunk's next best spans follow, round by round
    (every chunk's best, then every chunk's second best...), so the first
    `len(ranked)` are the spans one per chunk would give: a paraphrase shares
    few words with its answering sentence, and a chunk's best span by query
    terms missed the answer of 8 in 60 English dev questions whose top 5
    chunks held it (`bench/bench_reader.py --dev`).
    """
    query_terms = set(tokenize(query))
    idf_by_term = {t: float(index.idf[vocab[t]]) for t in query_terms if t in vocab}
    rounds: list[list[Span]] = [[] for _ in range(per_chunk)]
    for r in ranked:
        d = int(index.chunk_doc[r.chunk])
        doc, text = index.docs[d], index.texts[d]
        candidates = index.spans_of(r.chunk) or [(int(index.chunk_start[r.chunk]), int(index.chunk_end[r.chunk]), "sentence")]
        scored = sorted(((_coverage(text[a:b], query_terms, idf_by_term), -i, (a, b, kind)) for i, (a, b, kind)
                         in enumerate(candidates)), reverse=True)
        for k, (_, _, (a, b, kind)) in enumerate(scored[:per_chunk]):
            rounds[k].append(
                Span(
                    doc_id=doc.id,
                    title=doc.title,
                    commit=c.digest,
                    chunk_id=index.chunk_id(r.chunk),
                    rank=r.rank,
                    start=a,
                    end=b,
                    kind=kind,
                    text=text[a:b],
                    context=index.chunk_context[r.chunk],
                    score=round(r.score, 6),
                    relevance=round(r.cosine, 4),
                    stale=stale_reasons.get(d),
                )
            )
    return [span for spans in rounds for span in spans]


def _passages(index: CorpusIndex, ranked: list[Ranked], spans: list[Span], query: str) -> list[Passage]:
    """What a generator is handed: short chunks whole; a long chunk cut to its spans that carry query terms.

    A long chunk keeps the spans holding at least `MIN_SPAN_COVERAGE` of the
    query's distinct terms, in document order, and always its cited span; the
    rest (boilerplate around the answer) is left out.
    """
    query_terms = set(tokenize(query))
    out = []
    for r, span in zip(ranked, spans, strict=True):
        text = index.chunk_text(r.chunk)
        if len(text) <= PASSAGE_WHOLE_CHARS:
            out.append(Passage(span.doc_id, span.chunk_id, text, False))
            continue
        doc_text = index.texts[index.chunk_doc[r.chunk]]
        kept = [
            doc_text[a:b]
            for a, b, _ in index.spans_of(r.chunk)
            if (a, b) == (span.start, span.end) or _coverage(doc_text[a:b], query_terms, {})[0] >= MIN_SPAN_COVERAGE
        ]
        out.append(Passage(span.doc_id, span.chunk_id, " … ".join(" ".join(k.split()) for k in kept), True))
    return out
