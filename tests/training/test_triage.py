"""Triage on the real sample and the real embedder.

The dataset is embedded once, by `first_fit` (a cold cache, SQLite); every
other fit in this file is a cache hit, which is itself under test.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from loopwright.errors import ConfigError, IntegrityError, InvalidInput
from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.install import PROVENANCE
from loopwright.serving.triage import MAX_CHARS, SLOT, TriageModel, clean_text
from loopwright.training import triage
from loopwright.training.cache import cache_root
from loopwright.training.calibration import expected_calibration_error
from loopwright.training.triage import TriageConfig, fit_triage


def add_dataset(ws) -> artifacts.Artifact:
    """Register the sample's labelled utterances as `install_sample` does (same bytes, same digest),
    without the corpus commit that would embed every document."""
    files = {name: (DATA_DIR / name).read_bytes() for name in ("intents.json", "utterances.jsonl")}
    return artifacts.register(ws, "dataset", "intents", files, provenance=PROVENANCE)


@pytest.fixture(scope="module")
def triage_cache(tmp_path_factory):
    """A cold triage cache of this module's own, so its first fit really fits; ~/.cache is never touched."""
    return tmp_path_factory.mktemp("triage-cache")


@pytest.fixture(autouse=True)
def _use_triage_cache(triage_cache, monkeypatch):
    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(triage_cache))


@pytest.fixture(scope="module")
def first_fit(tmp_path_factory, triage_cache):
    from loopwright.workspace import init_workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOOPWRIGHT_CACHE_DIR", str(triage_cache))
        mp.delenv("LOOPWRIGHT_DATABASE_URL", raising=False)
        ws = init_workspace(tmp_path_factory.mktemp("first") / "ws")
        add_dataset(ws)
        result = fit_triage(ws)
    files = {path: artifacts.read_file(ws, result.artifact, path) for path in result.artifact.files}
    yield ws, result, files
    ws.close()


def test_fit_reports_held_out_accuracy_and_calibration(first_fit):
    ws, result, files = first_fit
    assert not result.cache_hit
    m = result.metrics
    # 14 intents of equal size: chance is 7%.
    assert m["overall"]["accuracy"] >= 0.90, m["overall"]
    assert set(m["by_language"]) == {"en", "es", "vi"}
    for language, scores in m["by_language"].items():
        assert scores["n"] >= 15 and scores["accuracy"] >= 0.70, (language, scores)
    # Temperature is fitted on validation; on the unseen test split it must not make calibration worse.
    assert m["overall"]["ece"] <= m["overall"]["ece_uncalibrated"], m["overall"]
    assert m["overall"]["nll"] <= m["overall"]["nll_uncalibrated"], m["overall"]
    rows = sum(1 for line in (DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines() if line.strip())
    assert sum(m["sizes"].values()) == rows

    # Plain data only: every file is JSON, and the artifact records how it was made and from what.
    assert set(files) == {"head.json", "metrics.json", "config.json"}
    head, config = json.loads(files["head.json"]), json.loads(files["config.json"])
    assert json.loads(files["metrics.json"]) == m
    dataset = artifacts.resolve(ws, triage.DEFAULT_DATASET)
    assert config["dataset_digest"] == dataset.digest and config["seed"] == 0 and config["c"] == TriageConfig.c
    assert config["embedder"].startswith("all-MiniLM-L6-v2") and "sha256" in config["split_rule"]
    assert np.asarray(head["coef"]).shape == (len(head["classes"]), 384)
    assert result.artifact.parents == [dataset.digest]
    assert result.artifact.provenance["dataset"] == dataset.ref
    assert result.artifact.config == config


def test_splits_are_disjoint_by_normalised_text():
    assert triage.normalize_text("  ¿Cómo CONGELO mi\ttarjeta?? ") == triage.normalize_text("como congelo mi tarjeta")
    assert triage.normalize_text("Giờ mở cửa") == triage.normalize_text("gio mo cua")
    rows = [json.loads(line) for line in (DATA_DIR / "utterances.jsonl").read_text("utf-8").splitlines() if line]
    config = TriageConfig()
    splits_of = defaultdict(set)
    for row in rows:
        splits_of[triage.normalize_text(row["text"])].add(triage.split_of(row["text"], config))
    assert all(len(s) == 1 for s in splits_of.values())
    counts = defaultdict(int)
    for (split,) in splits_of.values():
        counts[split] += 1
    assert abs(counts["train"] / len(splits_of) - 0.70) < 0.05 and counts["test"] > 0.10 * len(splits_of)
    # The seed changes the split, and only the seed does.
    moved = sum(triage.split_of(r["text"], config) != triage.split_of(r["text"], TriageConfig(seed=1)) for r in rows)
    assert moved > len(rows) // 4


def test_second_workspace_takes_the_cached_head(workspace, first_fit):
    _, first, _ = first_fit
    add_dataset(workspace)
    started = time.perf_counter()
    result = fit_triage(workspace, deploy=True)
    elapsed = time.perf_counter() - started
    assert result.cache_hit and result.cache_key == first.cache_key
    assert result.artifact.digest == first.artifact.digest  # the same artifact, fitted or cached
    assert elapsed < first.seconds / 3, (elapsed, first.seconds)

    assert get_deployment(workspace).stable(SLOT).digest == result.artifact.digest
    assert result.deploy_receipt.action == "deploy.set" and result.deploy_receipt.subject == "slot/model:triage"
    again = fit_triage(workspace, deploy=True)
    assert again.artifact.ref == result.artifact.ref and again.deploy_receipt is None  # nothing changed

    model = TriageModel.deployed(workspace)
    (lost,) = model.predict(["I lost my debit card at the mall"])
    assert lost.intent == "card_lost" and lost.confidence == lost.top[0][1]
    assert len(lost.top) == 3 and [p for _, p in lost.top] == sorted((p for _, p in lost.top), reverse=True)
    assert lost.margin == pytest.approx(lost.top[0][1] - lost.top[1][1]) and lost.runner_up == lost.top[1][0]


def test_corrupt_head_blob_is_refused(workspace, first_fit):
    _, first, files = first_fit
    artifact = artifacts.register(workspace, "model", "triage", files)
    assert artifact.digest == first.artifact.digest
    assert TriageModel.load(workspace, artifact.ref).classes == json.loads(files["head.json"])["classes"]
    blob = workspace.blobs.path(artifact.files["head.json"]["digest"])
    blob.write_bytes(blob.read_bytes().replace(b'"temperature":', b'"temperature":1', 1))
    with pytest.raises(IntegrityError, match="does not match its digest"):
        TriageModel.load(workspace, artifact)

    head = json.loads(files["head.json"])
    other = artifacts.register(workspace, "model", "other", {"head.json": json.dumps({**head, "embedder": "e5"}).encode()})
    with pytest.raises(ConfigError, match="fitted on e5 vectors"):
        TriageModel.load(workspace, other)
    broken = artifacts.register(workspace, "model", "broken", {"head.json": b'{"format": "x"}'})
    with pytest.raises(IntegrityError, match="not a triage head"):
        TriageModel.load(workspace, broken)


def test_corrupt_cache_entry_is_not_used(first_fit, tmp_path, monkeypatch):
    _, first, _ = first_fit
    entry = cache_root() / "triage" / first.cache_key
    copy = tmp_path / "triage" / first.cache_key
    shutil.copytree(entry, copy)
    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(tmp_path))
    assert triage._read_cache(first.cache_key) is not None
    head = copy / "head.json"
    head.write_bytes(head.read_bytes().replace(b"[", b"[0.5,", 1))
    assert triage._read_cache(first.cache_key) is None


def test_predict_rejects_empty_text_and_handles_batches(first_fit):
    ws, result, _ = first_fit
    model = TriageModel.load(ws, result.artifact)
    for bad in ([""], ["  \n\t "], ["ok", " "], [None]):
        with pytest.raises(InvalidInput):
            model.predict(bad)
    with pytest.raises(InvalidInput, match="list of texts"):
        model.predict("a bare string")
    assert model.predict([]) == []
    texts = ["freeze my card please", "¿cuál es el horario de la sucursal?", "tôi muốn nói chuyện với nhân viên"]
    batch = model.predict(texts)
    one_by_one = [model.predict([t])[0] for t in texts]
    assert [r.intent for r in batch] == [r.intent for r in one_by_one]
    assert np.allclose([r.confidence for r in batch], [r.confidence for r in one_by_one], atol=0.02)
    long = "what are the wire transfer fees " * 100_000  # 3 MB: cut to what the model reads
    assert len(clean_text(long)) == MAX_CHARS
    assert len(clean_text(" " * 100_000 + "hi")) == 2
    started = time.perf_counter()
    assert model.predict([long])[0].intent == "wire_transfer" and time.perf_counter() - started < 10


def test_config_errors_name_the_flag():
    with pytest.raises(InvalidInput, match="--c"):
        TriageConfig(c=0)
    with pytest.raises(InvalidInput, match="no test split"):
        TriageConfig(train_share=0.9, val_share=0.1)


def test_expected_calibration_error():
    labels = np.array([0, 0, 1, 1])
    confident_right = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert expected_calibration_error(confident_right, labels) == 0.0
    # Every prediction at 0.9 confidence, half of them right: off by 0.4.
    half = np.array([[0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.9, 0.1]])
    assert expected_calibration_error(half, labels) == pytest.approx(0.4)


def test_cli_fit_and_predict(workspace, first_fit):
    from loopwright.cli.triage import app

    runner = CliRunner()
    add_dataset(workspace)
    root = str(workspace.root)
    fit = runner.invoke(app, ["fit", "--no-deploy", "--json", "-w", root])
    assert fit.exit_code == 0, fit.output
    doc = json.loads(fit.stdout)
    assert doc["cache_hit"] and not doc["deployed"] and doc["release"] is None and doc["digest"] == first_fit[1].artifact.digest
    table = runner.invoke(app, ["fit", "--no-deploy", "-w", root])
    assert table.exit_code == 0 and "ECE (T=1)" in table.output and "vi" in table.output
    # --deploy goes through the release plane, whose golden gate needs a suite this bare workspace lacks
    gated = runner.invoke(app, ["fit", "-w", root])
    assert gated.exit_code != 0 and "registered but not released on model:triage" in gated.exception.message
    predicted = runner.invoke(app, ["predict", "--json", "-w", root, "--model", "model/triage", "quiero congelar mi tarjeta"])
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout)["intent"] == "card_freeze"
    empty = runner.invoke(app, ["predict", "-w", root, "--model", "model/triage", "   "])
    assert empty.exit_code != 0 and isinstance(empty.exception, InvalidInput)
    for command in ("fit", "predict"):
        assert "Example: loopwright triage" in runner.invoke(app, [command, "--help"]).output
