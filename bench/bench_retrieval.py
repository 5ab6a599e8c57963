"""Retrieval benchmark: quality on the sample goldens, and speed and memory at 100,000 chunks.

    .venv/bin/python bench/bench_retrieval.py            # full: 100,000 synthetic chunks
    .venv/bin/python bench/bench_retrieval.py --quick    # smoke run: 5,000 chunks, fewer queries
    .venv/bin/python bench/bench_retrieval.py --chunks 1000000 --derive --skip-quality   # 1M chunks, derived vectors

Writes bench/results/retrieval.json (bench/results/retrieval-quick.json with --quick).

1. Quality: the sample corpus as the goldens expect it (its starting commit
   plus FlexPay 2.0 and its translations certified), every answerable golden
   (one with `must_cite`) asked as its tenant on the sample's reference date.
   recall@5 = share of questions whose top 5 chunks include a `must_cite`
   document, for hybrid (reciprocal-rank fusion), BM25 alone and dense alone,
   all from the same index and masks in the same run. Also: how often the
   hybrid result's minimal spans hold every `must_contain` string, and how
   the `must_decline` goldens come out. On simulated FAQ traffic
   (`simulate(4000, 0)`), how often the expected facts are in the top 4 spans
   (what the gateway's large tier answers from) against the top 4 passages
   (the pruned chunks), FlexPay apart: the ceiling a reader of whole passages
   would have.
2. Scale: a synthetic corpus in the sample's style (product pages with
   headings, lists, tables; mixed audiences, sensitivities, certification and
   dates, so the filter masks do real work) grown to N chunks, committed
   through the real `corpus add` / `corpus commit` path. Reported: indexing
   throughput with every chunk embedded (cold) and with every vector from the
   cache (warm), the cost of a one-document commit on top (seconds, chunks
   re-embedded), resident memory of the loaded index, and end-to-end
   `Retriever.search` latency (query embedding included, query cache off) as a
   retail tenant, p50 and p99, with the per-stage split, for three variants
   side by side: the exact query encoder, onnx-int8, and onnx-int8 with the
   dense list from the HNSW graph (`loopwright.corpus.ann`); the graph's build
   time, file size and resident memory; recall@5 of each variant (the asked
   product's document among the top 5 chunks); how much of the exact dense
   top 50 the graph finds; and each ranking stage alone (BM25 and its top-k,
   the exact dense product and top-k, the graph search and rerank).
3. `--derive` (for 1M chunks: embedding them takes ~50 min here): chunks whose
   vector is not in the embedding cache get one derived from a cached real one
   (`derived_vectors`); everything else is the real commit path.

Embeddings are cached under --cache (default: a folder in the system temp
directory) so a rerun skips the cold embedding; pass --fresh to measure it.
The cache is keyed by the embedder's dtype, which each process picks by timing
bf16 against float32; on a busy machine pin it (LOOPWRIGHT_EMBED_DTYPE=bfloat16)
or a rerun may find none of its vectors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_info  # noqa: E402
from loopwright.corpus import ann, commits  # noqa: E402
from loopwright.corpus.index import DEPTH, CorpusIndex  # noqa: E402
from loopwright.corpus.retrieval import Retriever  # noqa: E402
from loopwright.corpus.rules import RetrievalRules  # noqa: E402
from loopwright.embedding import QUERY_CACHE, get_embedder  # noqa: E402
from loopwright.query_encoder import get_query_encoder  # noqa: E402
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE  # noqa: E402
from loopwright.samples.bank.simulate import simulate  # noqa: E402
from loopwright.workspace import Workspace, init_workspace  # noqa: E402

ENCODERS = ("exact", "onnx-int8")  # the query encoders measured side by side (loopwright.query_encoder)
# (name, query encoder, dense list from the HNSW graph): the variants timed side by side at scale
VARIANTS = (("exact", "exact", False), ("onnx-int8", "onnx-int8", False), ("onnx-int8+hnsw", "onnx-int8", True))
HELDOUT = ROOT / "tests" / "data" / "heldout_qa.jsonl"  # written from the documents only; measured, never tuned on
POLICY = RetrievalRules.from_policy_toml((DATA_DIR.parent / "config" / "policy.toml").read_text(encoding="utf-8"))
CERTIFY = ("flexpay-2-0", "flexpay-2-0-es", "flexpay-2-0-vi")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _workspace(folder: Path, cache: Path, name: str) -> Workspace:
    """A fresh workspace whose embedding cache is the shared `cache` folder."""
    shutil.rmtree(folder, ignore_errors=True)
    ws = init_workspace(folder, name=name)
    cache.mkdir(parents=True, exist_ok=True)
    (ws.state_dir / "embeddings").symlink_to(cache, target_is_directory=True)
    return ws


# ---- 1. quality on the goldens ---------------------------------------------------------------------


def quality(work: Path, cache: Path) -> dict:
    ws = _workspace(work / "goldens-ws", cache, "goldens")
    commits.stage_add(ws, [DATA_DIR / "docs"])
    commits.commit(ws, "sample corpus", author="bench")
    for doc_id in CERTIFY:
        commits.stage_certify(ws, doc_id)
    commits.commit(ws, "certify FlexPay 2.0 and its translations", author="bench")
    retriever = Retriever(ws)
    commit = retriever.commit()
    index = retriever.index(commit)
    folder = ws.state_dir / "indexes" / commit.tree
    graphed = CorpusIndex.load(folder)  # a second copy whose dense list comes from the HNSW graph
    graphed.attach_graph(folder)
    goldens = [json.loads(line) for line in (DATA_DIR / "goldens.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [g for g in goldens if g["must_cite"]]
    heldout = [row for row in map(json.loads, HELDOUT.read_text(encoding="utf-8").splitlines()) if "id" in row and not row["must_decline"]]
    questions = {"goldens": [(g["input"], g["tenant"], g["language"], set(g["must_cite"])) for g in answerable],
                 "heldout": [(r["question"], r["tenant"], r["language"], set(r["docs"])) for r in heldout]}
    # recall@5 per question set, encoder, mode and language: the same index, masks and questions for each
    recall: dict = {}
    for set_name, rows in questions.items():
        for name, encoder, use_graph in VARIANTS:
            qenc = get_query_encoder(encoder)
            idx = graphed if use_graph else index
            got: dict[str, dict[str, list[int]]] = {}
            for text, tenant, language, cited in rows:
                masks = idx.masks(_access(tenant), POLICY, REFERENCE_DATE)
                lexical, dense = idx.scores(text, qenc.encode(text))
                for mode in ("hybrid", "bm25", "dense"):
                    if mode == "bm25" and name != "exact":
                        continue  # BM25 reads no vector
                    top = idx.rank(lexical, dense, masks.fresh, 5, mode=mode)
                    hit = any(idx.docs[idx.chunk_doc[r.chunk]].id in cited for r in top)
                    got.setdefault(mode, {}).setdefault("all", []).append(hit)
                    got[mode].setdefault(language, []).append(hit)
            recall.setdefault(set_name, {})[name] = {
                mode: {k: round(sum(v) / len(v), 4) for k, v in sorted(by.items())} for mode, by in got.items()
            }
        recall[set_name]["questions"] = len(rows)
    span_hits = 0
    for g in answerable:
        result = retriever.search(g["input"], commit=commit, tenant=g["tenant"], rules=POLICY, as_of=REFERENCE_DATE)
        span_hits += any(s.doc_id in g["must_cite"] and all(c in s.text for c in g["must_contain"]) for s in result.spans)
    answers = _facts_found(retriever, commit)
    declines = [g for g in goldens if g["must_decline"]]
    declined: dict = {}
    for encoder in ENCODERS:  # the decline rules read cosines: the same goldens through each query encoder
        by_encoder = Retriever(ws, query_encoder=encoder)
        for g in declines:
            result = by_encoder.search(g["input"], commit=commit, tenant=g["tenant"], rules=POLICY, as_of=REFERENCE_DATE)
            got = declined.setdefault(encoder, {}).setdefault(g["tags"][0], {"questions": 0, "declined": 0, "status": {}})
            got["questions"] += 1
            got["declined"] += result.decline
            got["status"][result.status] = got["status"].get(result.status, 0) + 1
    ws.close()
    n = len(answerable)
    return {
        "questions": n,
        "recall_at_5": recall,
        "recall_at_5_note": "share of questions whose top 5 chunks include an expected document; per query encoder "
        "(exact: the embedder the chunks were embedded with; onnx-int8: loopwright.query_encoder; +hnsw: the dense "
        "list from the HNSW graph, loopwright.corpus.ann) and language",
        "span_holds_answer_at_5": round(span_hits / n, 4),
        "must_decline_goldens": declined,
        "faq_facts_in_top_4": answers,
        "corpus": {"documents": len(index.docs), "chunks": len(index)},
    }


def _facts_found(retriever: Retriever, commit, n_requests: int = 4000, seed: int = 0) -> dict:
    """Share of simulated FAQ requests whose expected facts (and none forbidden) are in the top 4 spans / passages."""
    counts: Counter = Counter()
    for request in simulate(n_requests, seed):
        expect = request["expect"]
        if request["kind"] != "faq" or not expect["must_contain"]:
            continue
        group = "flexpay" if request["intent"] == "flexpay" else "other"
        result = retriever.search(request["text"], commit=commit, tenant=request["tenant"], rules=POLICY, as_of=REFERENCE_DATE)
        counts[group, "questions"] += 1
        for source, texts in (("spans", [s.text for s in result.spans[:4]]), ("passages", [p.text for p in result.passages[:4]])):
            text = " ".join(" ".join(texts).split())
            found = all(f in text for f in expect["must_contain"]) and not any(f in text for f in expect["must_not_contain"])
            counts[group, source] += found and not result.decline
    return {
        group: {"questions": counts[group, "questions"],
                **{source: round(counts[group, source] / counts[group, "questions"], 4) for source in ("spans", "passages")}}
        for group in ("flexpay", "other")
    }


def _access(tenant: str):
    from loopwright.corpus.index import Access

    t = POLICY.tenant(tenant)
    return Access(frozenset(t.scopes), t.max_sensitivity)


# ---- 2. scale ----------------------------------------------------------------------------------------

FAMILIES = ["Saver", "Checking", "Card", "Loan", "Mortgage", "FlexPay", "Send", "Wire", "Insurance", "Deposit",
            "Overdraft", "Rewards", "Travel Card", "Business Account", "Student Account", "Auto Loan"]
MODIFIERS = ["Goal", "Everyday", "Premier", "Student", "Business", "Travel", "Green", "Family", "Classic", "Select",
             "Flex", "Plus", "Secure", "Smart", "Prime", "Basic", "Youth", "Senior", "Digital", "Local"]
ITEMS = ["Monthly fee", "Opening deposit", "Late fee", "APR", "APY", "Daily limit", "Transfer limit", "Setup fee",
         "Foreign transaction fee", "Minimum balance", "Replacement card", "Paper statement", "Stop payment",
         "Overdraft fee", "Annual fee", "Cash advance fee", "Wire fee", "Early repayment fee", "Grace period"]
SECTIONS = ["At a glance", "Fees and limits", "Who it suits", "How to apply", "Rates", "Eligibility", "Terms",
            "Security", "Support", "Changes this year"]
VERBS = ["applies", "is charged", "is waived", "is capped", "is credited", "is reviewed", "is set"]
SUBJECTS = ["The account", "Your plan", "Each card", "A transfer", "The rate", "Every statement", "The app",
            "A branch", "Your balance", "The limit"]
TAILS = ["when you open it in the app", "on the first business day of the month", "after a 14-day review",
         "for balances above $10,000", "unless you are under 25", "when a payment is missed",
         "for customers in every region", "if you ask a branch", "once per calendar year", "on request"]


def _money(rng: random.Random) -> str:
    return rng.choice([f"${rng.randint(1, 99)}", f"${rng.randint(1, 50) * 100:,}", f"{rng.randint(0, 25)}.{rng.randint(0, 99):02d}%"])


def _sentence(rng: random.Random, product: str) -> str:
    return f"{rng.choice(SUBJECTS)} for {product} {rng.choice(VERBS)} {rng.choice(TAILS)}."


def synthetic_document(i: int, rng: random.Random) -> tuple[str, str, list[tuple[str, str, str]]]:
    """(doc id, file text, facts) for synthetic document `i`; a fact is (product, item, value)."""
    product = f"{rng.choice(MODIFIERS)} {rng.choice(FAMILIES)} {i}"
    doc_id = f"syn-{i:05d}"
    audience, sensitivity = rng.choices(
        [("retail", "public"), ("retail", "internal"), ("staff", "internal"), ("staff", "restricted")], [70, 10, 15, 5]
    )[0]
    # most documents current, some past the 180-day limit, a few retired: as in the sample
    effective = REFERENCE_DATE - timedelta(days=rng.randint(0, 170) if rng.random() < 0.85 else rng.randint(181, 400))
    retired = effective + timedelta(days=rng.randint(30, 300)) if rng.random() < 0.05 else None
    facts = []
    lines = [
        "---", f"id: {doc_id}", f"title: {product}", "language: en", f"effective_date: {effective.isoformat()}",
        f"retired_date: {retired.isoformat() if retired else 'null'}", f"certified: {'true' if rng.random() < 0.9 else 'false'}",
        f"sensitivity: {sensitivity}", f"audience: [{audience}]", "source: bench synthesiser", "licence: CC0-1.0", "---",
        f"# {product}", "", " ".join(_sentence(rng, product) for _ in range(rng.randint(2, 3))), "",
    ]
    for section in rng.sample(SECTIONS, 4):
        lines += [f"## {section}", ""]
        for item in rng.sample(ITEMS, rng.randint(3, 5)):
            value = _money(rng)
            facts.append((product, item, value))
            lines.append(f"- {item}: {value} {rng.choice(TAILS)}.")
        lines += ["", "| Item | Term |", "|---|---|"]
        for item in rng.sample(ITEMS, rng.randint(5, 8)):
            value = _money(rng)
            facts.append((product, item, value))
            lines.append(f"| {item} | {value} |")
        lines += ["", " ".join(_sentence(rng, product) for _ in range(rng.randint(1, 3))), ""]
    return doc_id, "\n".join(lines), facts


def synthesise(folder: Path, target_chunks: int, seed: int = 7) -> tuple[int, int, list[tuple[str, str, str]]]:
    """Write synthetic documents until they hold `target_chunks` chunks; returns (documents, chunks, facts)."""
    from loopwright.corpus.chunking import chunk_document
    from loopwright.corpus.documents import parse_bytes

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    chunks, i, facts = 0, 0, []
    while chunks < target_chunks:
        doc_id, text, doc_facts = synthetic_document(i, rng)
        raw = text.encode("utf-8")
        chunks += len(chunk_document(parse_bytes(raw, doc_id)))
        (folder / f"{doc_id}.md").write_bytes(raw)
        facts += doc_facts
        i += 1
    return i, chunks, facts


DERIVED_COSINE = 0.95  # a derived vector's expected cosine to its donor (see `derived_vectors`)


def derived_vectors(docs_dir: Path, cache: Path, ws: Workspace, seed: int = 3) -> dict:
    """Give every chunk of `docs_dir` whose vector the shared cache lacks one derived from a real cached vector.

    The workspace's embedding cache becomes a folder of links to the shared cache's packs plus packs of derived
    vectors (the shared cache never holds one). A derived vector is a real chunk vector picked uniformly at random
    (seeded), plus Gaussian noise of per-dimension deviation sigma with E[cosine to the donor] = DERIVED_COSINE,
    normalised: the corpus's vectors keep the real ones' clusters and spread, near-duplicates included, as the
    synthetic pages (which differ by product and numbers) have. Nothing is embedded.
    """
    from loopwright.corpus.chunking import chunk_document
    from loopwright.corpus.documents import parse_bytes
    from loopwright.corpus.embeddings import EmbeddingCache
    from loopwright.embedding import DIM

    key = get_embedder().key
    real = EmbeddingCache(cache, key)
    own = ws.state_dir / "embeddings"
    own.unlink()  # the link `_workspace` made to the shared cache
    (own / key).mkdir(parents=True)
    for pack in sorted((cache / key).glob("pack-*.npz")):
        (own / key / pack.name).symlink_to(pack)
    donors = np.concatenate([np.asarray(p, dtype=np.float32) for p in (real._refresh() and real._packs)])
    t = time.perf_counter()
    hashes, texts = [], []
    for path in sorted(docs_dir.glob("*.md")):
        for c in chunk_document(parse_bytes(path.read_bytes(), path.stem)):
            hashes.append(c.content_hash)
            texts.append(c.index_text)
    rng = np.random.default_rng(seed)
    sigma = math.sqrt((1 / DERIVED_COSINE**2 - 1) / DIM)

    def derive(batch: list[str]) -> np.ndarray:
        x = donors[rng.integers(0, len(donors), len(batch))] + rng.normal(0, sigma, (len(batch), DIM)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    _, derived = EmbeddingCache(own, key).vectors_for(hashes, texts, derive)
    return {"chunks": len(hashes), "derived": derived, "real": len(hashes) - derived, "donors": len(donors),
            "sigma": round(sigma, 5), "seconds": round(time.perf_counter() - t, 1),
            "note": "a derived vector = a real chunk vector drawn uniformly at random + N(0, sigma^2) per dimension, "
            f"normalised (expected cosine {DERIVED_COSINE} to its donor); chunks in the cache keep their real vectors"}


def _queries(facts: list[tuple[str, str, str]], n: int) -> list[tuple[str, str]]:
    """(question, the document id of the product it asks about), `n` distinct ones."""
    rng = random.Random(11)
    templates = ["What is the {item} for {product}?", "How much is the {item} on {product}?",
                 "{product} {item}?", "Does {product} have a {item}?", "Tell me the {item} of the {product}"]
    queries, seen = [], set()
    while len(queries) < n:
        product, item, _ = rng.choice(facts)
        q = rng.choice(templates).format(item=item.lower(), product=product)
        if q not in seen:
            seen.add(q)
            queries.append((q, f"syn-{int(product.rsplit(' ', 1)[1]):05d}"))
    return queries


def _memory_probe(folder: Path) -> dict:
    """Resident memory added by `CorpusIndex.load` and then by `attach_graph`, in a fresh process."""
    probe = (
        "import gc, json, os, sys, time\n"
        "from pathlib import Path\n"
        "import bm25s, faiss, torch\n"
        "from loopwright.corpus.index import CorpusIndex\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20\n"
        "gc.collect(); before = rss(); t = time.perf_counter()\n"
        "index = CorpusIndex.load(Path(sys.argv[1])); seconds = time.perf_counter() - t\n"
        "gc.collect(); loaded = rss(); t = time.perf_counter()\n"
        "index.attach_graph(Path(sys.argv[1])); graph_seconds = time.perf_counter() - t\n"
        "gc.collect(); print(json.dumps({'rss_mb': round(loaded - before, 1), 'load_seconds': round(seconds, 2),\n"
        "    'graph_rss_mb': round(rss() - loaded, 1), 'graph_load_seconds': round(graph_seconds, 2)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"index load probe failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _stage_timings(index: CorpusIndex, graphed: CorpusIndex, queries: list[str], allowed) -> dict:
    """Each ranking stage alone, one thread, interleaved: BM25 + top-k, exact dense + top-k, graph + rerank."""
    import torch

    qenc = get_query_encoder("onnx-int8")
    vectors = [qenc.encode(q) for q in queries]
    times: dict[str, list[float]] = {"bm25_scores_and_top": [], "dense_exact_and_top": [], "dense_hnsw_and_top": []}
    found, top5_same = [], 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for q, v in zip(queries, vectors, strict=True):
            t = time.perf_counter()
            index.top(index.lexical_scores(q), allowed, DEPTH, positive=True)
            times["bm25_scores_and_top"].append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            exact = index.dense(v).top(allowed, DEPTH)
            times["dense_exact_and_top"].append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            approx = graphed.dense(v).top(allowed, DEPTH)
            times["dense_hnsw_and_top"].append((time.perf_counter() - t) * 1e3)
            found.append(len(set(exact) & set(approx)) / len(exact))
            top5_same += exact[:5] == approx[:5]
    finally:
        torch.set_num_threads(threads)
    out = {k: {"p50": round(statistics.median(v), 3), "p99": round(_pct(v, 99), 3)} for k, v in times.items()}
    out["hnsw_recall_of_exact_dense_top_50"] = round(statistics.fmean(found), 4)
    out["hnsw_dense_top5_same_share"] = round(top5_same / len(queries), 4)
    out["queries"] = len(queries)
    out["note"] = "the retail tenant's fresh chunks; onnx-int8 query vectors; ms per query, each stage alone"
    return out


def scale(work: Path, cache: Path, n_chunks: int, n_queries: int, derive: bool = False) -> dict:
    # commits build the index alone, as before [index] ann_min_chunks built graphs at commit time: the graph is
    # built and timed on its own below (a commit at the default threshold pays both)
    os.environ["LOOPWRIGHT_ANN_MIN_CHUNKS"] = "0"
    docs_dir = work / "synthetic-docs"
    shutil.rmtree(docs_dir, ignore_errors=True)
    t = time.perf_counter()
    n_docs, n_made, facts = synthesise(docs_dir, n_chunks)
    synth_s = time.perf_counter() - t
    ws = _workspace(work / "scale-ws", cache, "scale")
    get_embedder()  # model load is not indexing
    cached_before = _cache_size(cache)
    report: dict = {"documents": n_docs}
    if derive:
        report["derived_vectors"] = derived_vectors(docs_dir, cache, ws)

    t = time.perf_counter()
    commits.stage_add(ws, [docs_dir])
    stage_s = time.perf_counter() - t
    t = time.perf_counter()
    first = commits.commit(ws, "synthetic corpus", author="bench")
    commit_s = time.perf_counter() - t
    info = _index_info(ws.state_dir / "indexes" / first.tree)
    report.update({
        "chunks": info["chunks"], "spans": info["spans"], "synthesis_seconds": round(synth_s, 2),
        "stage_seconds": round(stage_s, 2),
        "index_cold": {
            "seconds": info["seconds"], "embedded": info["embedded"],
            "chunks_per_second": round(info["chunks"] / info["seconds"], 1), "commit_seconds": round(commit_s, 2),
            "note": "embedded = chunks not already in the embedding cache at the start"
            + (f" (cache held {cached_before} vectors)" if cached_before else "")
            + ("; with --derive every vector was in the cache (real or derived)" if derive else ""),
        },
    })
    final = first
    if not derive:  # a full rebuild each: minutes at 1M, and the 100k run measures them
        # the same corpus again, every vector from the cache: chunking, BM25 and saving only
        shutil.rmtree(ws.state_dir / "indexes" / first.tree)
        t = time.perf_counter()
        commits.ensure_index(ws, first.tree, first.documents)
        warm_s = time.perf_counter() - t
        # one-document commit: one sentence added to the introduction (new text every run): one chunk's text changes
        target = docs_dir / "syn-00042.md"
        target.write_text(target.read_text(encoding="utf-8").replace("\n\n## ", f" Reviewed {time.time_ns()}.\n\n## ", 1), encoding="utf-8")
        t = time.perf_counter()
        commits.stage_add(ws, [target])
        final = commits.commit(ws, "edit one document", author="bench")
        one_doc_s = time.perf_counter() - t
        info2 = _index_info(ws.state_dir / "indexes" / final.tree)
        # embedding alone, measured on every run (the cache may have spared this run the cold build)
        sample_index = CorpusIndex.load(ws.state_dir / "indexes" / first.tree)
        picks = random.Random(5).sample(range(len(sample_index)), min(2048, len(sample_index)))
        texts = [f"{sample_index.chunk_context[i]}\n{sample_index.chunk_text(i)}" for i in picks]
        del sample_index
        t = time.perf_counter()
        get_embedder().encode(texts)
        embed_rate = len(texts) / (time.perf_counter() - t)
        report.update({
            "index_warm": {"seconds": round(warm_s, 2), "chunks_per_second": round(info["chunks"] / warm_s, 1),
                           "note": "every vector from the cache: parse, chunk, BM25, save"},
            "embedding": {"chunks_per_second": round(embed_rate, 1), "sample": len(texts),
                          "cold_index_chunks_per_second_estimate": round(1 / (1 / embed_rate + warm_s / info["chunks"]), 1)},
            "one_document_commit": {"seconds": round(one_doc_s, 2), "chunks_reembedded": info2["embedded"],
                                    "chunks_reused": info2["reused"], "index_build_seconds": info2["seconds"]},
        })

    folder = ws.state_dir / "indexes" / final.tree
    index = CorpusIndex.load(folder)
    graphed = CorpusIndex.load(folder)
    t = time.perf_counter()
    graphed.attach_graph(folder)  # no graph there yet: built from vectors.npy and saved
    report["hnsw_graph"] = {"build_seconds": round(time.perf_counter() - t, 2), "m": ann.M,
                            "ef_construction": ann.EF_CONSTRUCTION, "ef_search": ann.EF_SEARCH,
                            "candidates": ann.CANDIDATES, "file_mb": round((folder / ann.FILE).stat().st_size / 2**20, 1),
                            "build_threads": os.cpu_count(),
                            "note": "built apart from the commit here; at [index] ann_min_chunks (default 50,000) "
                            "and up, a commit builds it after the index"}
    loaded = _memory_probe(folder)
    vectors = index._int8.matrix if index._int8 is not None else index.vectors
    loaded["vectors_mb"] = round(vectors.numel() * vectors.element_size() / 2**20, 1)
    loaded["vectors_dtype"] = str(vectors.dtype)
    loaded["note"] = ("resident memory added by CorpusIndex.load in a fresh process (torch, bm25s and faiss imported "
                      "first), then by attach_graph (loading dense.hnsw)")
    report["loaded_index"] = loaded

    retrievers = {}
    for name, encoder, use_graph in VARIANTS:
        retrievers[name] = Retriever(ws, query_encoder=encoder)
        served = graphed if use_graph else index
        retrievers[name]._indexes.get(final.tree, lambda served=served: served)  # the index just loaded, kept warm
    commit = retrievers["exact"].commit()
    queries = _queries(facts, n_queries)
    names = [name for name, _, _ in VARIANTS]

    def search(name: str, q: str):
        return retrievers[name].search(q, commit=commit, tenant="larkspur-retail", rules=POLICY, as_of=REFERENCE_DATE)

    for q, _ in queries[:20]:  # warm-up: code paths, mask cache, allocator
        for name in names:
            search(name, q + " (warm-up)")
    totals = {name: [] for name in names}
    cpu = {name: [] for name in names}  # process CPU time per query: moves much less with the machine's load
    stages = {name: {"embed": [], "rank": [], "spans": []} for name in names}
    statuses: dict[str, dict[str, int]] = {name: {} for name in names}
    hit_at_5 = {name: 0 for name in names}
    same_top5, overlap = {n: 0 for n in names[1:]}, {n: [] for n in names[1:]}
    hits = []
    load_during = []
    for i, (q, doc_id) in enumerate(queries):
        tops = {}
        for name in names[i % len(names):] + names[: i % len(names)]:  # interleaved, order rotating
            QUERY_CACHE.clear()  # every query embeds: no help from the query cache
            t, c = time.perf_counter(), time.process_time()
            result = search(name, q)
            totals[name].append((time.perf_counter() - t) * 1e3)
            cpu[name].append((time.process_time() - c) * 1e3)
            for k in stages[name]:
                stages[name][k].append(result.timings_ms[k])
            statuses[name][result.status] = statuses[name].get(result.status, 0) + 1
            tops[name] = [sp.chunk_id for sp in result.spans[:5]]
            hit_at_5[name] += any(c.startswith(doc_id + "#") for c in tops[name])
        for name in names[1:]:  # each against the exact encoder, and hnsw also against onnx-int8 below
            same_top5[name] += tops["exact"] == tops[name]
            overlap[name].append(len(set(tops["exact"]) & set(tops[name])) / max(len(tops["exact"]), 1))
        same_top5.setdefault("hnsw_vs_onnx", 0)
        same_top5["hnsw_vs_onnx"] += tops["onnx-int8"] == tops["onnx-int8+hnsw"]
        t = time.perf_counter()  # the same question again: its vector from the query cache
        search("onnx-int8+hnsw", q)
        hits.append((time.perf_counter() - t) * 1e3)
        if i % 50 == 0:
            load_during.append(round(os.getloadavg()[0], 2))

    def latency(values, name=None):
        out = {"queries": len(values), "p50": round(statistics.median(values), 2), "p90": round(_pct(values, 90), 2),
               "p99": round(_pct(values, 99), 2), "mean": round(statistics.fmean(values), 2)}
        if name:
            out["stages_p50"] = {k: round(statistics.median(v), 2) for k, v in stages[name].items()}
            out["stages_p99"] = {k: round(_pct(v, 99), 2) for k, v in stages[name].items()}
            out["statuses"] = statuses[name]
            out["recall_at_5"] = round(hit_at_5[name] / len(queries), 4)
            out["cpu_ms"] = {"p50": round(statistics.median(cpu[name]), 2), "p99": round(_pct(cpu[name], 99), 2)}
        return out

    query_latency = {name: latency(totals[name], name) for name in names}
    query_latency["cache_hit"] = latency(hits)
    base = query_latency["exact"]
    query_latency["comparison"] = {
        **{f"p50_ratio_exact_over_{n}": round(base["p50"] / query_latency[n]["p50"], 2) for n in names[1:]},
        **{f"p99_ratio_exact_over_{n}": round(base["p99"] / query_latency[n]["p99"], 2) for n in names[1:]},
        "same_top5_share_vs_exact": {n: round(same_top5[n] / len(queries), 4) for n in names[1:]},
        "same_top5_share_hnsw_vs_onnx_int8": round(same_top5["hnsw_vs_onnx"] / len(queries), 4),
        "mean_top5_overlap_vs_exact": {n: round(statistics.fmean(overlap[n]), 4) for n in names[1:]},
        "load_average_during": load_during,
        "note": "whole Retriever.search as a retail tenant, each query once per variant, interleaved, order rotating, "
        "query cache emptied before each; recall_at_5: the asked product's document among the top 5 spans' chunks; "
        "cache_hit: the same query again through onnx-int8+hnsw with its vector cached",
    }
    fast = query_latency["onnx-int8+hnsw"]
    query_latency["targets"] = {"p50_under_10_ms": fast["p50"] < 10, "p99_under_50_ms": fast["p99"] < 50}
    report["query_latency_ms"] = query_latency
    fresh = index.masks(_access("larkspur-retail"), POLICY, REFERENCE_DATE).fresh
    report["ranking_stages_ms"] = _stage_timings(index, graphed, [q for q, _ in queries[:200]], fresh)
    ws.close()
    return report


def _index_info(folder: Path) -> dict:
    """index.json with build.json's timings (kept apart since index format 3: not part of the digest)."""
    return {**json.loads((folder / "index.json").read_text()), **json.loads((folder / "build.json").read_text())}


def _cache_size(cache: Path) -> int:
    from loopwright.corpus.embeddings import EmbeddingCache

    key = get_embedder().key
    return len(EmbeddingCache(cache, key)) if (cache / key).is_dir() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smoke run: 5,000 chunks and 100 queries.")
    parser.add_argument("--chunks", type=int, default=None, help="Synthetic corpus size in chunks (default 100,000).")
    parser.add_argument("--queries", type=int, default=None, help="Timed queries (default 500).")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "loopwright-bench-embeddings",
                        help="Embedding cache shared between runs.")
    parser.add_argument("--fresh", action="store_true", help="Empty the embedding cache first (measures cold embedding).")
    parser.add_argument("--skip-scale", action="store_true", help="Only the goldens quality part.")
    parser.add_argument("--skip-quality", action="store_true", help="Only the scale part.")
    parser.add_argument("--derive", action="store_true",
                        help="Chunks missing from the embedding cache get vectors derived from cached ones, not "
                        "embedded (for 1M chunks; see derived_vectors). Skips the warm rebuild and one-document commit.")
    args = parser.parse_args()
    n_chunks = args.chunks or (5_000 if args.quick else 100_000)
    n_queries = args.queries or (100 if args.quick else 500)
    if args.fresh:
        shutil.rmtree(args.cache, ignore_errors=True)
    import torch

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        report = {
            "benchmark": "retrieval",
            "quick": args.quick,
            "command": " ".join(["python", *sys.argv]),
            "machine": {
                **machine_info(),
                "cpus": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "python": platform.python_version(),
                "embedder": get_embedder().key,
                "load_average_at_start": os.getloadavg()[0],
            },
            "reference_date": REFERENCE_DATE.isoformat(),
        }
        if not args.skip_quality:
            report["quality"] = quality(work, args.cache)
            print(json.dumps(report["quality"], indent=2), flush=True)
        if not args.skip_scale:
            report["scale"] = scale(work, args.cache, n_chunks, n_queries, derive=args.derive)
            print(json.dumps(report["scale"], indent=2), flush=True)
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["measured_on"] = date.today().isoformat()
    name = "retrieval-quick" if args.quick else "retrieval" if n_chunks == 100_000 else f"retrieval-{n_chunks // 1000}k"
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
