"""The CLI surface: an example in every --help, one JSON document with every --json, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.registry import artifacts
from loopwright.samples.bank.install import CONFIG_DIR

runner = CliRunner()


def _leaf_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a command group
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


COMMANDS = dict(_leaf_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: loopwright " + path[0] in " ".join(result.output.split())


# `demo` runs minutes; tests/demo/test_demo_run.py runs it with --json.
# demo runs the whole story; the trainers take minutes each on two cores, too long for this test (their
# libraries are tested in tests/training and tests/learning; their --json documents are not checked here).
# `trace export` needs an OTLP receiver: tests/server/test_otel_export.py reads its --json document beside Phoenix.
EXEMPT = {("demo",), ("model", "reader"), ("model", "sample-generator"), ("learn", "adapter"), ("learn", "prefs"), ("train",),
          ("trace", "export")}


def _json_invocations(ws, ref, trace_id, tmp):
    """One valid invocation of every command that takes --json (kept complete by the test below).

    `ws` is the sample bank, so the request path can run; commands run in this order.
    """
    new_doc = tmp / "new-faq.md"
    new_doc.write_text(
        "---\nid: new-faq\ntitle: New FAQ\nlanguage: en\neffective_date: 2026-11-01\ncertified: true\n"
        "sensitivity: public\naudience: [retail]\nsource: test\nlicence: test\n---\n# New FAQ\n\nBranches open at 9 am.\n"
    )
    dsr = _erasure_request(ws)
    suite = tmp / "goldens.jsonl"
    suite.write_text('{"id": "t1", "input": "How much is a domestic wire?", "tenant": "larkspur-retail", "must_contain": ["$25"]}\n')
    policy = ws.root / "policy.toml"
    policy.write_bytes(artifacts.read_file(ws, artifacts.resolve(ws, "policy/bank"), "policy.toml"))
    from loopwright.samples.bank.lm import train_sample_adapter, train_sample_lm
    from loopwright.training.lm import SampleLMConfig

    lm = train_sample_lm(SampleLMConfig.small()).folder  # the commands below take it from the cache
    rows = tmp / "rows.jsonl"
    rows.write_text("".join(json.dumps({"text": f"question number {w} about my card", "intent": "card_lost"}) + "\n"
                            for w in ("one", "two", "three", "four", "five", "six", "seven", "eight")))
    recipe = tmp / "recipe.toml"
    recipe.write_text('name = "cli-data"\n[[sources]]\nname = "rows"\npath = "rows.jsonl"\nlicence = "CC0-1.0"\n'
                      'provenance = "written for this test"\nconsent = "synthetic"\nsensitivity = "public"\n'
                      '[curriculum]\nscore = "length"\n[dedup]\nnear = false\n')
    # A worse triage model live, so `promote` has an incumbent the fitted one beats (tests/triage_variants.py).
    from loopwright.registry.deployment import get_deployment, set_stable
    from triage_variants import register_variant

    fitted = get_deployment(ws).stable("model:triage")
    set_stable(ws, "model:triage", register_variant(ws, fitted.ref, "triage-noisy", noise=2.0).ref, reason="test")
    # An adapter live on the hf backend's slot (the sample's router serves no hf tier), for `release detach`.
    set_stable(ws, "adapter:small", artifacts.register(ws, "adapter", "cli-detach", {"a": b"1"}).ref, reason="test")
    return {
        ("registry", "list"): ["registry", "list"],
        ("registry", "show"): ["registry", "show", ref],
        ("registry", "lineage"): ["registry", "lineage", ref],
        ("registry", "register"): ["registry", "register", "dataset", "d", str(ws.root / "loopwright.toml")],
        ("audit", "log"): ["audit", "log"],
        ("audit", "show"): ["audit", "show", "1"],
        ("audit", "verify"): ["audit", "verify"],
        ("keys", "create"): ["keys", "create", "--tenant", "larkspur-retail", "--role", "customer"],
        ("keys", "list"): ["keys", "list"],
        ("ask",): ["ask", "What is the APY on the Larkspur Saver?"],
        ("trace", "show"): ["trace", "show", trace_id],
        ("trace", "list"): ["trace", "list", "--limit", "5"],
        ("feedback",): ["feedback", trace_id, "--correct", "branch_hours", "--agent", "agt_cli", "--consent"],
        ("learn", "curate"): ["learn", "curate", "--target", "triage"],
        ("learn", "review"): ["learn", "review", "dataset/curated-triage"],
        ("report",): ["report"],
        ("slo",): ["slo"],
        ("advise",): ["advise"],
        ("data", "prepare"): ["data", "prepare", str(recipe)],
        ("deploy", "show"): ["deploy", "show"],
        ("deploy", "set"): ["deploy", "set", "prompt", ref, "--force", "--reason", "test: straight to stable"],
        ("init",): ["init", str(ws.root.parent / "other")],
        ("simulate",): ["simulate", "--n", "3", "--seed", "1"],
        ("search",): ["search", "domestic wire fee", "--tenant", "larkspur-retail"],
        ("corpus", "add"): ["corpus", "add", str(new_doc)],
        ("corpus", "retire"): ["corpus", "retire", "branch-hours", "--on", "2026-12-01"],
        ("corpus", "status"): ["corpus", "status"],
        ("corpus", "reset"): ["corpus", "reset"],
        ("corpus", "certify"): ["corpus", "certify", "flexpay-2-0"],
        ("corpus", "commit"): ["corpus", "commit", "-m", "certify FlexPay 2.0"],
        ("corpus", "log"): ["corpus", "log"],
        ("corpus", "diff"): ["corpus", "diff", "1", "2"],
        ("corpus", "show"): ["corpus", "show", "2"],
        ("corpus", "revert"): ["corpus", "revert", "2"],
        ("triage", "fit"): ["triage", "fit", "--no-deploy"],
        ("triage", "predict"): ["triage", "predict", "I lost my card", "--model", "model/triage"],
        ("model", "sample"): ["model", "sample", "--small"],
        ("model", "sample-adapter"): ["model", "sample-adapter"],
        ("model", "register"): ["model", "register", str(lm), "--name", "cli-lm"],
        ("model", "adapter-register"): ["model", "adapter-register", str(train_sample_adapter(lm).folder), "--name", "cli-grace", "--base", "model/bank-lm"],
        ("golden", "run"): ["golden", "run", "--suite", "goldens/cli-suite"],
        ("golden", "record"): ["golden", "record", trace_id],
        ("release", "start"): ["release", "start", "corpus", "corpus/bank@2", "--skip-gate"],
        ("release", "status"): ["release", "status"],
        ("release", "analyze"): ["release", "analyze"],
        ("release", "promote"): ["release", "promote", "corpus"],
        ("release", "abort"): ["release", "start", "prompt", "prompt/bank@1", "--skip-gate"],
        ("release", "history"): ["release", "history"],
        ("rollback",): ["rollback", "corpus"],
        ("flags", "set"): ["flags", "set", "small-tier", "--percentage", "25"],
        ("flags", "list"): ["flags", "list"],
        ("flags", "delete"): ["flags", "delete", "small-tier"],
        ("policy", "check"): ["policy", "check", str(policy)],
        ("tools", "list"): ["tools", "list"],
        ("tools", "call"): ["tools", "call", "freeze_card", "--args", '{"last4": "9662"}', "--subject", "cus_001", "--role", "customer", "--scopes", "retail"],
        ("subject", "export"): ["subject", "export", "cus_001"],
        ("subject", "erase"): ["subject", "erase", "cus_001", "--yes"],
        ("eval",): ["eval", "model/triage-noisy", "--suite", "goldens/cli-suite"],
        ("promote",): ["promote", "model/triage@1", "--suite", "goldens/cli-suite"],
        ("audit", "note"): ["audit", "note", "note/triage"],
        ("subject", "requests"): ["subject", "requests"],
        ("subject", "approve"): ["subject", "approve", dsr],
        ("release", "detach"): ["release", "detach", "adapter:small", "--reason", "test"],
    }


def _erasure_request(ws) -> str:
    """A data-subject erasure cus_002 asked for and confirmed in chat, waiting for `subject approve`."""
    from loopwright.policy.loader import deployed_policy
    from loopwright.serving.auth import create_key
    from loopwright.tools.proposals import confirm, propose

    policy = deployed_policy(ws)
    me = create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",), subject="cus_002")[1]
    token = propose(ws, "privacy_request", "delete my data", me, policy=policy, conversation="cli").result.confirmation["token"]
    return confirm(ws, token, me, policy=policy, conversation="cli").result.output["request_id"]


def test_every_json_command_prints_one_json_document(triaged_bank, monkeypatch, tmp_path):
    bank = triaged_bank
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(bank.root))
    prompt = {**artifacts.files_from_dir(CONFIG_DIR / "prompt"), "system.md": b"Answer briefly from the evidence."}
    ref = artifacts.register(bank, "prompt", "bank", prompt).ref
    asked = runner.invoke(app, ["ask", "What are the branch hours on Saturday?", "--json"])
    assert asked.exit_code == 0, asked.output
    invocations = _json_invocations(bank, ref, json.loads(asked.stdout)["trace_id"], tmp_path)
    artifacts.register(bank, "goldens", "cli-suite", {"goldens.jsonl": (tmp_path / "goldens.jsonl").read_bytes()})
    with_json = {path for path, cmd in COMMANDS.items() if any("--json" in p.opts for p in cmd.params)}
    assert with_json - EXEMPT == set(invocations), "add an invocation for each new --json command"
    for path, argv in invocations.items():
        result = runner.invoke(app, [*argv, "--json"])
        assert result.exit_code == 0, (path, result.output)
        json.loads(result.stdout)


def _cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def test_errors_are_one_line_and_nonzero(workspace, tmp_path):
    env = {"LOOPWRIGHT_WORKSPACE": str(workspace.root)}
    cases = [
        (["registry", "show", "model/missing"], env, "no artifact 'model/missing'"),
        (["registry", "list"], {"LOOPWRIGHT_WORKSPACE": str(tmp_path)}, "not a loopwright workspace"),
        (["deploy", "set", "bogus", "model/x"], env, "invalid slot"),
    ]
    for args, extra, expected in cases:
        proc = _cli(*args, env=extra)
        assert proc.returncode != 0
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_workspace_from_cwd(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LOOPWRIGHT_WORKSPACE"}
    proc = subprocess.run(
        [sys.executable, "-m", "loopwright", "audit", "verify"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert proc.returncode == 1
    assert "no loopwright workspace in" in proc.stderr


def test_unreadable_config_and_dead_database(workspace, tmp_path):
    (workspace.root / "loopwright.toml").write_text("[store\n")
    proc = _cli("registry", "list", env={"LOOPWRIGHT_WORKSPACE": str(workspace.root)})
    assert proc.returncode == 1 and "not valid TOML" in proc.stderr and proc.stderr.count("\n") == 1
    (workspace.root / "loopwright.toml").write_text("")
    proc = _cli(
        "registry",
        "list",
        env={"LOOPWRIGHT_WORKSPACE": str(workspace.root), "LOOPWRIGHT_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/db"},
    )
    assert proc.returncode == 1 and "does not answer" in proc.stderr and proc.stderr.count("\n") == 1


def test_tampered_receipt_fails_verify_naming_it(workspace):
    import sqlalchemy as sa

    artifacts.register(workspace, "prompt", "bank", {"a": b"1"})
    artifacts.register(workspace, "prompt", "bank", {"a": b"2"})
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE receipts SET subject = 'prompt/evil@1' WHERE seq = 2"))
    proc = _cli("audit", "verify", env={"LOOPWRIGHT_WORKSPACE": str(workspace.root)})
    assert proc.returncode == 1
    assert "broken at receipt 2" in proc.stdout
