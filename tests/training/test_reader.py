"""The reader trainer on a small real example set (two frozen MiniLM layers, seconds to a minute), its artifact,
and `check_servable` refusing a tampered or misplaced one."""

from __future__ import annotations

import json
import shutil

import pytest

from loopwright.errors import InvalidInput
from loopwright.registry.artifacts import materialize
from loopwright.release.validation import check_servable, deploy_checked
from loopwright.samples.bank.reading import bank_examples
from loopwright.serving.backends.reader import CARD, HEAD, SELECTOR_FEATURES, SLOT, check_reader
from loopwright.training.reader import ReaderConfig, ReadingExample, register_reader, split_of, train_reader


def test_no_passage_group_crosses_splits():
    config = ReaderConfig()
    examples = bank_examples()
    where: dict[str, set[str]] = {}
    for e in examples:
        where.setdefault(e.passage, set()).add(split_of(e.group, config))
    assert all(len(splits) == 1 for splits in where.values())
    # a document and its translations share a group
    assert {e.group for e in examples if e.passage.startswith("Gói trả góp FlexPay 2.0")} <= {"flexpay-2-0"}
    assert any(e.answer is None for e in examples) and any(e.answer for e in examples)


def test_an_answer_outside_its_passage_is_refused():
    with pytest.raises(InvalidInput, match="outside its passage"):
        ReadingExample("q?", "short", (2, 40), "g", "en")


def test_the_trainer_learns_and_reports_held_out_scores(sample_reader):
    metrics = json.loads((sample_reader.folder / "metrics.json").read_text())
    assert metrics["loss"]["last"] < metrics["loss"]["first"] / 2
    test = metrics["groups"]["test"]
    assert test and not set(test) & set(metrics["groups"]["train"])
    overall = metrics["overall"]
    assert overall["answerable"] > 0 and 0 <= overall["f1"] <= 1
    assert overall["answerability_auc"] > 0.6  # well above chance on passages it never saw
    # the selector (head score, question terms, cosine; fitted out of fold) ranks no worse than the head alone
    assert overall["answerability_auc"] >= overall["head_auc"] and 0 <= overall["ranked_first"] <= 1
    assert set(metrics["by_language"]) <= {"en", "es", "vi"}
    card = json.loads((sample_reader.folder / CARD).read_text())
    assert card["layers"] == ReaderConfig.tiny().layers and card["base"].endswith("all-MiniLM-L6-v2")
    assert card["selector"]["features"] == list(SELECTOR_FEATURES) and card["selector"] == metrics["selector"]


def test_a_second_training_is_a_cache_hit(sample_reader, monkeypatch):
    from tiny_reader import READER_GROUPS

    monkeypatch.setenv("LOOPWRIGHT_CACHE_DIR", str(sample_reader.folder.parent.parent))
    again = train_reader([e for e in bank_examples(rewordings=0) if e.group in READER_GROUPS], ReaderConfig.tiny())
    assert again.cache_hit and again.folder == sample_reader.folder


def test_too_few_documents_to_split_is_one_error():
    examples = [ReadingExample("What is the fee?", "The fee is $5.", (11, 13), "only-doc", "en")]
    with pytest.raises(InvalidInput, match="too few to split by document"):
        train_reader(examples, ReaderConfig.tiny(), use_cache=False)


def test_registered_and_checked_then_refused_when_tampered(lite_workspace, sample_reader):
    ws = lite_workspace
    artifact, receipt = register_reader(ws, sample_reader, "reader", provenance={"source": "test"})
    assert receipt is None and artifact.config["task"] == "question-answering"
    assert set(artifact.config["metrics"]) == {"exact_match", "f1", "answerability_auc", "ece", "ranked_first"}
    check_servable(ws, artifact, SLOT)
    deploy_checked(ws, SLOT, artifact.ref, reason="test")
    # a reader is no causal LM, and the reader slot takes nothing else
    with pytest.raises(InvalidInput, match="is a reader; slot model:small"):
        check_servable(ws, artifact, "model:small")

    # one flipped byte in the stored head: refused, naming the artifact
    blob = ws.blobs.path(artifact.files[HEAD]["digest"])
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    shutil.rmtree(materialize(ws, artifact), ignore_errors=True)
    with pytest.raises(InvalidInput, match=f"{artifact.ref} cannot be served"):
        check_servable(ws, artifact, SLOT)


def test_a_card_that_does_not_fit_its_head_is_refused(lite_workspace, sample_reader, tmp_path):
    from loopwright.training.cache import TrainedFolder

    broken = tmp_path / "broken"
    shutil.copytree(sample_reader.folder, broken)
    card = json.loads((broken / CARD).read_text())
    card["hidden"] += 1
    (broken / CARD).write_text(json.dumps(card))
    unknown = tmp_path / "unknown-feature"
    shutil.copytree(sample_reader.folder, unknown)
    card = json.loads((unknown / CARD).read_text())
    card["selector"]["features"][-1] = "length"  # a feature this reader does not compute
    (unknown / CARD).write_text(json.dumps(card))
    odd, _ = register_reader(lite_workspace, TrainedFolder(unknown, "k2", True, 0.0), "odd", provenance={})
    with pytest.raises(InvalidInput, match="is not a reader card"):
        check_reader(lite_workspace, odd)
    artifact, _ = register_reader(lite_workspace, TrainedFolder(broken, "k", True, 0.0), "reader", provenance={})
    with pytest.raises(InvalidInput, match="does not fit its card"):
        check_reader(lite_workspace, artifact)
    with pytest.raises(InvalidInput, match="cannot be served"):
        check_servable(lite_workspace, artifact, SLOT)
