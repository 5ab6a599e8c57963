"""`loopwright eval` and `promote` on real triage models of known quality (tests/triage_variants.py).

The base is the session's fitted head; worse ones are it with noise on its weights, or with
an intent it never predicts. Held-out items are the sample's held-out set, goldens the sample's
suite cut to its first 20 (a new version of the same suite), so each evaluation takes seconds.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.errors import ConfigError, IntegrityError, InvalidInput, UnknownRef
from loopwright.registry import audit
from loopwright.registry.artifacts import read_file, register, resolve
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.receipts import list_receipts
from loopwright.serving.triage import SLOT
from loopwright.training.data.prepare import prepare_dataset
from loopwright.training.evaluate import evaluate
from loopwright.training.notes import verify_note, verify_notes
from loopwright.training.perturb import KINDS, perturb
from loopwright.training.promote import evaluate_pair, promote
from loopwright.training.triage import fit_triage
from triage_variants import register_variant

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _small_suite(ws, n: int = 20) -> None:
    suite = resolve(ws, "goldens/bank")
    lines = read_file(ws, suite, "goldens.jsonl").decode().splitlines(keepends=True)[:n]
    register(ws, "goldens", "bank", {"goldens.jsonl": "".join(lines).encode()})


def _policy(ws, extra: str) -> None:
    """The live policy with `extra` TOML lines added under [evaluation.critical], put live."""
    live = get_deployment(ws).stable("policy")
    text = read_file(ws, live, "policy.toml").decode().replace("[evaluation.critical]\n", f"[evaluation.critical]\n{extra}\n")
    set_stable(ws, "policy", register(ws, "policy", live.name, {"policy.toml": text.encode()}).ref, reason="test: critical metric")


@SQLITE
def test_eval_reports_per_language_figures_and_a_worse_model_is_refused(triaged_bank):
    ws = triaged_bank
    _small_suite(ws)
    base = get_deployment(ws).stable(SLOT)
    e = evaluate(ws, base.ref)
    r, m = e.report, e.report["metrics"]
    assert set(r["n_by_language"]) == {"en", "es", "vi"} and r["adversarial"] == 24
    assert {f"accuracy.{x}" for x in ("en", "es", "vi")} <= set(m) and "accuracy.intent.card_lost" in m
    # The held-out set shows the gap the in-distribution test split hides: MiniLM is an English model.
    assert m["accuracy.en"] - m["accuracy.vi"] > 0.15
    assert 0 <= r["ece"] <= 1 and sum(b["n"] for b in r["reliability"]) == sum(r["n_by_language"].values())
    svg = read_file(ws, e.artifact, "reliability.svg").decode()
    assert svg.startswith("<svg") and svg.count("<rect") >= 4
    assert set(r["drops"]) == set(KINDS) and r["drops"]["typos"]["n"] > 100
    # Items that are in the model's training data are left out: "tell me a joke" is a sample utterance.
    assert "en-080" in r["contaminated"] and "en-080" not in set(e.outcomes.ids)
    assert evaluate(ws, base.ref).reused  # the same inputs: the stored evaluation

    noisy = register_variant(ws, base.ref, "triage-noisy", noise=2.0)
    done = promote(ws, noisy.ref)
    c = done.comparison
    assert c.decision == "refuse" and c.composite["delta"] < 0 and not c.improved
    assert done.comparison.reason().startswith("refused model/triage-noisy@1") and "\n" not in c.reason()
    assert done.release is None and get_deployment(ws).stable(SLOT).digest == base.digest
    with ws.session() as s:
        receipt = list_receipts(s, action="model.promote")[-1]
    assert receipt.payload.after.decision == "refuse" and receipt.payload.after.note == done.note.ref
    assert receipt.payload.after.note_digest == done.note.digest
    assert verify_note(ws, done.note.ref)["decision"] == "refuse"


@SQLITE
def test_bad_input_is_one_error_naming_it(triaged_bank, tmp_path):
    ws = triaged_bank
    with pytest.raises(UnknownRef, match="is a dataset artifact, not a model"):
        evaluate(ws, "dataset/intents")
    register(ws, "dataset", "broken-heldout", {"heldout.jsonl": b'{"_header": "x"}\nnot json\n'})
    live = get_deployment(ws).stable("policy")
    text = read_file(ws, live, "policy.toml").decode().replace('heldout = "dataset/heldout-intents"', 'heldout = "dataset/broken-heldout"')
    set_stable(ws, "policy", register(ws, "policy", "bank", {"policy.toml": text.encode()}).ref, reason="test")
    with pytest.raises(InvalidInput, match="broken-heldout@1 heldout.jsonl line 2 is not JSON"):
        evaluate(ws, get_deployment(ws).stable(SLOT).ref)
    fixed = register(ws, "policy", "bank", {"policy.toml": text.replace("broken-heldout", "intents").encode()})
    set_stable(ws, "policy", fixed.ref, reason="test")
    with pytest.raises(InvalidInput, match="is not a held-out set"):  # training data is not a held-out set
        evaluate(ws, get_deployment(ws).stable(SLOT).ref)
    # ...and a held-out set is never training data, whichever trainer reads it.
    with pytest.raises(InvalidInput, match="heldout-intents@1 is a held-out set"):
        fit_triage(ws, "dataset/heldout-intents")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('name = "sneaky"\n[[sources]]\nname = "h"\ndataset = "dataset/heldout-intents"\nfile = "heldout.jsonl"\n'
                      'licence = "CC0-1.0"\nprovenance = "test"\nconsent = "synthetic"\nsensitivity = "public"\n')
    with pytest.raises(InvalidInput, match="is a held-out set"):
        prepare_dataset(ws, recipe)


def test_a_better_model_wins_with_a_signed_note_and_tampering_is_caught(triaged_bank, tmp_path):
    ws = triaged_bank
    _small_suite(ws)
    good = get_deployment(ws).stable(SLOT)
    set_stable(ws, SLOT, register_variant(ws, good.ref, "triage-noisy", noise=2.0).ref, reason="test: a worse incumbent")
    done = promote(ws, good.ref)
    c = done.comparison
    assert c.decision == "promote" and c.composite["p"] < 0.05 and c.composite["ci"][0] > 0
    assert done.release["state"] == "canary" and get_deployment(ws).slots[SLOT].canary.digest == good.digest
    assert "promoted on evidence: note/triage@1" in done.release["reason"]
    note = verify_note(ws, done.note.ref)
    assert note["candidate"]["ref"] == good.ref and note["lineage"]["candidate"][1]["ref"].startswith("dataset/intents")
    assert note["deltas"]["accuracy"]["delta"] > 0 and b"## Critical metrics" in read_file(ws, done.note, "note.md")
    with ws.session() as s:
        assert audit.verify_artifacts(s).ok
    assert verify_notes(ws).ok

    copied = tmp_path / "note"
    copied.mkdir()
    for name in done.note.files:
        (copied / name).write_bytes(read_file(ws, done.note, name))
    verify_note(ws, copied)  # a faithful copy verifies away from the store
    forged = json.loads((copied / "note.json").read_text())
    forged["decision"] = "refuse"
    (copied / "note.json").write_text(json.dumps(forged))
    with pytest.raises(IntegrityError, match="note.json was changed after it was signed"):
        verify_note(ws, copied)

    blob = ws.blobs.path(done.note.files["note.md"]["digest"])
    blob.chmod(0o644)
    blob.write_bytes(b"# Release note: all good\n")
    problems = verify_notes(ws).problems
    assert len(problems) == 1 and done.note.ref in problems[0]
    with ws.session() as s:
        assert not audit.verify_blobs(ws, s).ok


@SQLITE
def test_a_critical_regression_blocks_even_with_a_better_composite(triaged_bank):
    ws = triaged_bank
    _small_suite(ws)
    good = get_deployment(ws).stable(SLOT)
    set_stable(ws, SLOT, register_variant(ws, good.ref, "triage-noisy", noise=2.0).ref, reason="test: a worse incumbent")
    candidate = register_variant(ws, good.ref, "triage-nolost", drop_intent="card_lost")  # never says card_lost
    _policy(ws, '"accuracy.intent.card_lost" = 0.05')
    c = evaluate_pair(ws, candidate.ref)
    assert c.improved and c.composite["delta"] > 0  # better on the whole...
    assert [t.metric for t in c.blockers] == ["accuracy.intent.card_lost"] and c.decision == "refuse"  # ...but not there
    blocked = c.blockers[0]
    assert blocked.candidate == 0.0 and blocked.test == "mcnemar" and blocked.discordant[1] == 0 and blocked.p < 0.05
    result = CliRunner().invoke(app, ["promote", candidate.ref, "--workspace", str(ws.root)])
    assert result.exit_code == 1
    assert "error: refused model/triage-nolost@1: a critical metric regressed: accuracy.intent.card_lost" in result.output
    assert get_deployment(ws).slots[SLOT].canary is None
    _policy(ws, '"accuracy.intent.card_lots" = 0.05')  # a misspelt intent is an error, not a metric quietly skipped
    with pytest.raises(ConfigError, match="names accuracy.intent.card_lots, which these evaluations do not both measure"):
        evaluate_pair(ws, candidate.ref)


def test_perturbations_are_seeded_and_keep_digits():
    text = "¿Cuánto cuesta una transferencia internacional desde mi cuenta 4417?"
    for kind in KINDS:
        once = perturb(kind, text, "es", seed=3, key="es-1")
        assert once == perturb(kind, text, "es", seed=3, key="es-1")
        assert once != text and "4417" in once, kind
    assert perturb("typos", text, "es", seed=3, key="es-1") != perturb("typos", text, "es", seed=4, key="es-1")
    assert perturb("accents", "Số dư tài khoản", "vi") == "So du tai khoan"
    switched = {perturb("code_switch", "mở tài khoản", "vi", key=str(k)) for k in range(10)}
    assert switched == {"mở account", "mở tài khoản"}  # each term switched by a seeded coin
    masked = perturb("masked_pii", "¿Cuál es mi saldo?", "es", key="es-2")
    assert "¿Cuál es mi saldo?" in masked and re.search(r"<(EMAIL|PHONE|NAME|CARD)_1>", masked)
    assert perturb("masked_pii", "wie viel?", "de") == "wie viel?"  # no clauses for a language it has none in
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb("shouting", text, "es")
