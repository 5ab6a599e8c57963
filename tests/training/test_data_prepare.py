"""`loopwright data prepare`: recipes that do not validate, missing data, a leakage check that fails, toxicity
and PII filtering on real text, stable and disjoint splits, balancing, the manifest and the card, the CLI's errors.

Everything runs on real workspaces (SQLite; what is stored, on PostgreSQL too), the real classifier and recognisers,
with small recipes written here.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopwright.dedup import normalise
from loopwright.errors import ConfigError, NotFound, UnknownRef
from loopwright.registry.artifacts import list_artifacts, read_file
from loopwright.registry.payloads import DataPrepare
from loopwright.registry.receipts import list_receipts as _list_receipts
from loopwright.training.data.prepare import prepare_dataset
from loopwright.training.data.splits import LeakageError, split_of
from loopwright.training.recipes import Splits, parse_recipe

WORDS = ("apple river candle orbit meadow violin harbor pepper glacier lantern saddle tunnel walnut compass feather "
         "marble velvet quartz thistle beacon anchor bramble cobalt dagger ember falcon garnet hollow ivory jasper "
         "kettle lagoon mosaic nectar oyster pebble quiver ribbon summit timber umbra vortex willow yonder zephyr "
         "acorn basalt cactus dynamo easel fjord goblet hazel igloo juniper kayak lilac mango nutmeg opal parsnip "
         "quail radish sorrel tulip urchin vapor wombat yarrow zinnia alder birch cedar dune flint grove heron").split()

SOURCE = """
[[sources]]
name = "{name}"
path = "{path}"
licence = "CC-BY-4.0"
provenance = "written for this test"
consent = "synthetic: no real persons"
sensitivity = "{sensitivity}"
"""


def recipe(tmp_path: Path, rows: dict[str, list[dict]], extra: str = "", *, sensitivity: str = "internal") -> Path:
    """A recipe over one JSON-lines source per entry of `rows`, curriculum by length (no model needed)."""
    parts = ['name = "test-data"', 'description = "a test"']
    for name, items in rows.items():
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), "utf-8")
        parts.append(SOURCE.format(name=name, path=f"{name}.jsonl", sensitivity=sensitivity))
    text = "\n".join(parts) + "\n[curriculum]\nscore = \"length\"\n" + extra
    path = tmp_path / "recipe.toml"
    path.write_text(text, "utf-8")
    return path


def list_receipts(ws):
    with ws.session() as s:
        return _list_receipts(s)


def utterances(n: int, intent: str, language: str = "en", stem: str = "question") -> list[dict]:
    """`n` texts, no two of them near duplicates: seven seeded words of 80 each (not just a number changed)."""
    rng = random.Random(f"{intent}:{language}:{stem}")
    return [{"text": f"{stem} " + " ".join(rng.sample(WORDS, 7)) + f" {intent}", "intent": intent, "language": language}
            for _ in range(n)]


def test_an_unknown_field_is_named_with_its_line():
    text = 'name = "x"\n[[sources]]\nname = "a"\npath = "a.jsonl"\nlicence = "CC0-1.0"\nprovenance = "p"\n' \
           'consent = "c"\nsensitivity = "public"\n[dedup]\ntreshold = 0.8\n'
    with pytest.raises(ConfigError) as err:
        parse_recipe(text, "r.toml")
    assert err.value.message == "r.toml:10: dedup.treshold: unknown field"


def test_a_source_without_a_licence_or_origin_is_refused():
    base = 'name = "x"\n[[sources]]\nname = "a"\nprovenance = "p"\nconsent = "c"\nsensitivity = "public"\n'
    with pytest.raises(ConfigError) as err:
        parse_recipe(base + 'path = "a.jsonl"\n', "r.toml")
    assert err.value.message == "r.toml:2: sources.0.licence: required field is missing"
    with pytest.raises(ConfigError, match="give exactly one of `path` or `dataset`"):
        parse_recipe(base + 'licence = "CC0-1.0"\n', "r.toml")
    with pytest.raises(ConfigError, match="sources.0.sensitivity"):
        parse_recipe(base.replace('"public"', '"secret"') + 'licence = "CC0-1.0"\npath = "a"\n', "r.toml")


def test_missing_data_is_one_error_naming_the_source(lite_workspace, tmp_path):
    path = recipe(tmp_path, {"a": utterances(3, "balance")})
    path.write_text(path.read_text("utf-8").replace('path = "a.jsonl"', 'path = "gone.jsonl"'), "utf-8")
    with pytest.raises(NotFound, match=r"source 'a': no file .*gone.jsonl"):
        prepare_dataset(lite_workspace, path)
    path.write_text(path.read_text("utf-8").replace('path = "gone.jsonl"', 'dataset = "dataset/nope"'), "utf-8")
    with pytest.raises(UnknownRef, match="source 'a': no artifact 'dataset/nope'"):
        prepare_dataset(lite_workspace, path)
    assert list_artifacts(lite_workspace) == []


def test_leakage_across_splits_fails_the_job_and_stores_nothing(workspace, tmp_path, cache_dir):
    # Planted near duplicates (a word changed) that land in different splits, with near dedup switched off.
    rows = utterances(40, "balance")
    rows += [{**r, "text": r["text"].replace("question", "questions")} for r in rows]
    path = recipe(tmp_path, {"a": rows}, "[dedup]\nnear = false\n[splits]\nleakage_threshold = 0.7\n")
    blobs_before = sorted(p.name for p in workspace.blobs.root.rglob("*") if p.is_file())
    receipts_before = len(list_receipts(workspace))
    with pytest.raises(LeakageError, match=r"leakage check failed: \d+ near-duplicate pair\(s\) cross splits"):
        prepare_dataset(workspace, path, use_cache=False)
    assert list_artifacts(workspace) == []
    assert len(list_receipts(workspace)) == receipts_before
    assert sorted(p.name for p in workspace.blobs.root.rglob("*") if p.is_file()) == blobs_before
    # With near dedup on, the copies go and the same data passes.
    path.write_text(path.read_text("utf-8").replace("near = false", "near = true\nthreshold = 0.7"), "utf-8")
    result = prepare_dataset(workspace, path)
    near = next(s for s in result.card["steps"] if s["step"] == "near_dedup")
    assert near["reasons"]["near_duplicate"] == 40


def test_toxicity_and_pii_filters_on_real_text(lite_workspace, tmp_path):
    rows = utterances(20, "balance") + [
        {"text": "you are a fucking useless bank", "intent": "human_agent", "language": "en"},
        {"text": "eres un pendejo, pásame con alguien", "intent": "human_agent", "language": "es"},
        {"text": "my card 4000 0012 3456 7899 was stolen, block it", "intent": "card_lost", "language": "en"},
        {"text": "escríbeme a ana.perez@example.com sobre mi disputa", "intent": "dispute_initiation", "language": "es"},
    ]
    path = recipe(tmp_path, {"a": rows}, '[toxicity]\nterms = ["pendejo"]\n[balancing]\nmethod = "none"\n')
    result = prepare_dataset(lite_workspace, path)
    steps = {s["step"]: s for s in result.card["steps"]}
    assert steps["toxicity"]["reasons"] == {"toxic_classifier": 1, "toxic_term": 1}
    assert steps["pii"]["reasons"]["pii_masked:CREDIT_CARD"] == 1 and steps["pii"]["reasons"]["pii_masked:EMAIL_ADDRESS"] == 1
    texts = [json.loads(line)["text"] for split in ("train", "val", "test")
             for line in read_file(lite_workspace, result.artifact, f"{split}.jsonl").decode().splitlines()]
    assert "my card <CARD_1> was stolen, block it" in texts and "escríbeme a <EMAIL_1> sobre mi disputa" in texts
    assert not any("4000" in t or "@example.com" in t or "fucking" in t or "pendejo" in t for t in texts)

    dropped = recipe(tmp_path, {"a": rows}, '[pii]\naction = "drop"\n[balancing]\nmethod = "none"\n')
    result = prepare_dataset(lite_workspace, dropped)
    assert next(s for s in result.card["steps"] if s["step"] == "pii")["reasons"] == {"pii": 2}


def test_splits_are_stable_across_runs_and_no_text_crosses_them(lite_workspace, tmp_path):
    rows = [r for intent in ("balance", "fees", "card_freeze") for r in utterances(30, intent)]
    first = prepare_dataset(lite_workspace, recipe(tmp_path, {"a": rows}), use_cache=False)
    again = prepare_dataset(lite_workspace, recipe(tmp_path, {"a": list(reversed(rows))}), use_cache=False)

    def splits(result):
        return {split: {json.loads(line)["text"] for line in read_file(lite_workspace, result.artifact, f"{split}.jsonl").decode().splitlines()}
                for split in ("train", "val", "test")}

    a, b = splits(first), splits(again)
    assert a == b  # the same texts in the same splits, whatever the input order
    folded = {split: {normalise(t) for t in texts} for split, texts in a.items()}
    assert not (folded["train"] & folded["val"] or folded["train"] & folded["test"] or folded["val"] & folded["test"])
    # A re-cased, re-accented copy lands beside its original.
    assert split_of("¿Cuál es mi SALDO?", Splits()) == split_of("cual es mi saldo", Splits())


def test_rare_strata_are_oversampled_in_train_only(lite_workspace, tmp_path):
    rows = utterances(60, "balance") + utterances(12, "balance", "vi", stem="hỏi")
    result = prepare_dataset(lite_workspace, recipe(tmp_path, {"a": rows}))
    card = result.card
    natural = next(s for s in card["steps"] if s["step"] == "split")["sizes"]
    train = card["splits"]["train"]["by_language_class"]
    assert train["vi/balance"] >= train["en/balance"] // 2  # raised to half the largest stratum
    assert card["splits"]["val"]["rows"] + card["splits"]["test"]["rows"] == natural["val"] + natural["test"]
    lines = read_file(lite_workspace, result.artifact, "train.jsonl").decode().splitlines()
    copies = [json.loads(line) for line in lines if "#" in json.loads(line)["id"]]
    assert copies and all(c["language"] == "vi" for c in copies)


def test_the_artifact_carries_recipe_manifest_card_and_a_typed_receipt(workspace, tmp_path, cache_dir):
    rows = {"en-rows": utterances(30, "balance"), "vi-rows": utterances(20, "fees", "vi", stem="phí")}
    path = recipe(tmp_path, rows, sensitivity="confidential")
    result = prepare_dataset(workspace, path)
    artifact = result.artifact
    assert read_file(workspace, artifact, "recipe.toml") == path.read_bytes()
    manifest = json.loads(read_file(workspace, artifact, "manifest.json"))
    assert [s["name"] for s in manifest["sources"]] == ["en-rows", "vi-rows"]
    for entry in manifest["sources"]:
        assert entry["licence"] == "CC-BY-4.0" and entry["consent"] == "synthetic: no real persons"
        assert entry["sensitivity"] == "confidential" and len(entry["digest"]) == 64 and entry["kept"] <= entry["rows"]
    assert artifact.provenance["sensitivity"] == "confidential" and artifact.provenance["licence"] == "CC-BY-4.0"
    steps = result.card["steps"]
    for before, after in zip(steps, steps[1:], strict=False):
        if after["step"] not in ("balance", "curriculum"):
            assert after["in"] == before["out"], (before["step"], after["step"])
    assert result.card["input"]["by_language"] == {"en": 30, "vi": 20}
    assert "## Splits per class" in read_file(workspace, artifact, "card.md").decode()
    receipt = [r for r in list_receipts(workspace) if r.subject == artifact.ref][-1]
    payload = receipt.payload
    assert isinstance(payload, DataPrepare) and payload.details.rows_in == 50
    assert payload.details.splits == {k: b["rows"] for k, b in result.card["splits"].items()}
    # The same recipe and sources again: the cached files, the same artifact, no new receipt.
    receipts = len(list_receipts(workspace))
    again = prepare_dataset(workspace, path)
    assert again.cache_hit and again.artifact.ref == artifact.ref and len(list_receipts(workspace)) == receipts


def _cli(ws, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOOPWRIGHT_WORKSPACE": str(ws.root)}
    return subprocess.run([sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_errors_are_one_line(lite_workspace, tmp_path):
    missing = _cli(lite_workspace, "data", "prepare", str(tmp_path / "nope.toml"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no recipe file") and missing.stderr.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nsources = []\n', "utf-8")
    proc = _cli(lite_workspace, "data", "prepare", str(bad))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"error: {bad}:2: sources: ")
    ok = _cli(lite_workspace, "data", "prepare", str(recipe(tmp_path, {"a": utterances(20, "balance")})), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["artifact"] == "dataset/test-data@1"


def test_every_recipe_field_is_documented_in_the_readme():
    from pydantic import BaseModel

    from loopwright.training.recipes import DataRecipe, Source

    section = (Path(__file__).parents[2] / "README.md").read_text("utf-8").split("## Training data")[1].split("\n## ")[0]
    fields = []
    for name, info in DataRecipe.model_fields.items():
        kind = Source if name == "sources" else info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            fields += [f"{name}.{sub}" for sub in kind.model_fields]
        else:
            fields.append(name)
    assert [f for f in fields if f"`{f}`" not in section] == []


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sample_recipe_prepares_the_multilingual_corpus(triaged_bank):
    """The bank's recipe end to end: every source kept in part, the leakage check passed, train easy first."""
    result = prepare_dataset(triaged_bank, triaged_bank.root / "bank" / "config" / "recipes" / "multilingual.toml")
    card, artifact = result.card, result.artifact
    assert artifact.ref == "dataset/bank-multilingual@1" and all(s["kept"] > 0 for s in card["sources"])
    curriculum = next(s for s in card["steps"] if s["step"] == "curriculum")
    assert curriculum["model"].startswith("model/triage@")
    train = [json.loads(line) for line in read_file(triaged_bank, artifact, "train.jsonl").decode().splitlines()]
    scores = [r["difficulty"] for r in train if r["intent"] is not None]
    assert scores == sorted(scores)
    by_language = card["splits"]["train"]["by_language"]
    assert by_language["vi"] > card["input"]["by_language"]["vi"] * 0.7 * 0.5  # new text kept, then oversampled


def test_masked_pii_copies_join_train_only_and_keep_their_intent(lite_workspace, tmp_path):
    rows = utterances(60, "balance") + utterances(40, "fees", "es", stem="pregunta") + utterances(40, "fees", "vi", stem="hỏi")
    result = prepare_dataset(lite_workspace, recipe(tmp_path, {"a": rows}, "[augment]\nmasked_pii = 0.5\n"))
    lines = {split: [json.loads(x) for x in read_file(lite_workspace, result.artifact, f"{split}.jsonl").decode().splitlines()]
             for split in ("train", "val", "test")}
    copies = [r for r in lines["train"] if r["id"].endswith("#pii")]
    originals = {r["id"]: r for r in lines["train"] if "#" not in r["id"]}
    assert 0.3 * len(originals) < len(copies) < 0.7 * len(originals)
    assert {r["language"] for r in copies} == {"en", "es", "vi"}
    for copy in copies:
        original = originals[copy["id"].removesuffix("#pii")]
        assert copy["intent"] == original["intent"] and original["text"].rstrip() in copy["text"]
        assert re.search(r"<(EMAIL|NAME|PHONE|ACCOUNT|CARD|DOB)_1>", copy["text"])
    assert not any("#" in r["id"] for split in ("val", "test") for r in lines[split])
    step = next(s for s in result.card["steps"] if s["step"] == "augment")
    assert step["out"] - step["in"] == len(copies) and step["masked_pii"] == 0.5
    # Off by default: no augment step, no copies.
    plain = prepare_dataset(lite_workspace, recipe(tmp_path, {"a": rows}))
    assert all(s["step"] != "augment" for s in plain.card["steps"])
