"""Query encoders: the token-keyed query cache, and the onnx-int8 encoder ranking as the exact one does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopwright.corpus import commits
from loopwright.corpus.retrieval import Retriever
from loopwright.embedding import QUERY_CACHE, QueryCache, get_embedder
from loopwright.errors import ConfigError
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE
from loopwright.workspace import Workspace


def test_query_cache_is_keyed_by_what_the_model_reads():
    embedder = get_embedder()
    QUERY_CACHE.clear()
    first = embedder.encode_query("What is the late fee for FlexPay 2.0?")
    # uncased, accent-stripping tokenizer: the same ids, so the same vector, from the cache
    again = embedder.encode_query("what is the LATE fee for flexpay 2.0?")
    assert (QUERY_CACHE.hits, QUERY_CACHE.misses) == (1, 1)
    assert np.array_equal(first, again)
    other = embedder.encode_query("What is the late fee for FlexPay 3.0?")
    assert QUERY_CACHE.misses == 2 and not np.array_equal(first, other)
    first[:] = 0  # a caller's copy: the cached vector is untouched
    assert np.array_equal(embedder.encode_query("What is the late fee for FlexPay 2.0?"), again)


def test_query_cache_evicts_the_least_recently_used():
    cache, computed = QueryCache(maxsize=2), []

    def vector(n):
        def compute():
            computed.append(n)
            return np.full(3, n, dtype=np.float32)

        return compute

    cache.get(("e", 1), vector(1))
    cache.get(("e", 2), vector(2))
    cache.get(("e", 1), vector(1))  # 1 is now the most recent
    cache.get(("e", 3), vector(3))  # evicts 2
    assert len(cache) == 2 and computed == [1, 2, 3]
    cache.get(("e", 1), vector(1))
    cache.get(("e", 2), vector(2))
    assert computed == [1, 2, 3, 2]
    assert cache.get(("other-encoder", 1), vector(9))[0] == 9  # another encoder's key never shares a vector
    with pytest.raises(ValueError):
        cache.get(("e", 2), vector(2))[0] = 5  # shared values are read-only


def test_onnx_int8_queries_rank_as_the_exact_encoder(bank_ws, cache_dir, monkeypatch):
    """The one test that builds the int8 encoder (cached for the session): recall@5 on the goldens holds."""
    for doc_id in ("flexpay-2-0", "flexpay-2-0-es", "flexpay-2-0-vi"):
        commits.stage_certify(bank_ws, doc_id)
    commits.commit(bank_ws, "Certify FlexPay 2.0 and translations")
    monkeypatch.setenv("LOOPWRIGHT_QUERY_ENCODER", "onnx-int8")
    ws = Workspace.open(bank_ws.root)  # the setting comes from the environment, as a server would read it
    try:
        fast, exact = Retriever(ws), Retriever(ws, query_encoder="exact")
        assert (fast.query_encoder.name, exact.query_encoder.name) == ("onnx-int8", "exact")
        assert fast.query_encoder.agreement() >= 0.98
        # the ids it tokenised once for the cache key feed the model as the tokenizer's own batch of one would
        encoder = fast.query_encoder
        for text in ("¿Cuál es la comisión por pago tardío?", "fee " * 600):  # the second is truncated
            batch = encoder.embedder._tokenizer([text], truncation=True, max_length=encoder.embedder.max_length, return_tensors="np")
            hidden = encoder._session.run(None, {n: batch[n].astype(np.int64) for n in ("input_ids", "attention_mask", "token_type_ids")})[0][0]
            want = hidden.mean(axis=0) / np.linalg.norm(hidden.mean(axis=0))
            assert np.allclose(encoder.encode(text), want, atol=1e-6)
        goldens = [json.loads(line) for line in (DATA_DIR / "goldens.jsonl").read_text().splitlines() if line.strip()]
        answerable = [g for g in goldens if g["must_cite"]]
        hits = {"fast": 0, "exact": 0}
        for g in answerable:
            for name, retriever in (("fast", fast), ("exact", exact)):
                result = retriever.search(g["input"], tenant=g["tenant"], as_of=REFERENCE_DATE)
                hits[name] += any(s.doc_id in g["must_cite"] for s in result.spans)
        assert hits["fast"] >= hits["exact"] - 1, hits  # within one question of 138
    finally:
        ws.close()


def test_unknown_query_encoder_is_one_config_error(bank_ws, monkeypatch):
    monkeypatch.setenv("LOOPWRIGHT_QUERY_ENCODER", "onnx-int4")
    with pytest.raises(ConfigError) as caught:
        Workspace.open(bank_ws.root)
    assert "embedding.query_encoder" in str(caught.value) and "\n" not in str(caught.value)
