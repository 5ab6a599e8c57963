"""The golden gate is not bypassed silently: `deploy set` needs --force and --reason and is shown as ungated;
`triage fit --deploy` hands its model to the release plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.registry import artifacts
from loopwright.registry.receipts import list_receipts
from loopwright.registry.deployment import get_deployment
from loopwright.serving.triage import HEAD_FORMAT

runner = CliRunner()


def _cli(ws, *args):
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "LOOPWRIGHT_WORKSPACE": str(ws.root)},
    )


def test_deploy_set_needs_force_and_a_reason_and_is_shown_ungated(workspace):
    c1 = artifacts.register(workspace, "corpus", "bank", {"manifest.json": b"{}"})
    for args in (["deploy", "set", "corpus", c1.ref], ["deploy", "set", "corpus", c1.ref, "--force"],
                 ["deploy", "set", "corpus", c1.ref, "--reason", "hotfix"]):
        proc = _cli(workspace, *args)
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
        assert "needs --force and --reason" in proc.stderr and "release start corpus" in proc.stderr
    assert get_deployment(workspace).slots == {}

    done = runner.invoke(app, ["deploy", "set", "corpus", c1.ref, "--force", "--reason", "hotfix", "--json",
                               "--workspace", str(workspace.root)])
    assert done.exit_code == 0, done.output
    receipt = json.loads(done.stdout)
    assert receipt["after"]["ungated"] is True and receipt["details"]["reason"] == "hotfix"
    shown = runner.invoke(app, ["deploy", "show", "--json", "--workspace", str(workspace.root)])
    placed = json.loads(shown.stdout)["stable_placed_by"]["corpus"]
    assert placed == {"receipt": receipt["id"], "action": "deploy.set", "ungated": True}
    table = runner.invoke(app, ["deploy", "show", "--workspace", str(workspace.root)])
    assert "ungated" in table.output


def test_deploy_set_refuses_a_model_that_does_not_fit_the_slot(workspace):
    head = artifacts.register(workspace, "model", "triage", {"head.json": b"{}"}, config={"format": HEAD_FORMAT})
    proc = _cli(workspace, "deploy", "set", "model:small", head.ref, "--force", "--reason", "try")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "model/triage@1 is a triage head; slot model:small holds a causal LM" in proc.stderr


def test_triage_fit_deploy_goes_through_the_release_plane(bank, triage_fit):
    result = runner.invoke(app, ["triage", "fit", "--deploy", "--json", "--workspace", str(bank.root)])
    assert result.exit_code == 0, result.output
    release = json.loads(result.stdout)["release"]
    assert release["gate_report"] is not None and release["gate_report"]["ok"]
    assert release["state"] == "promoted"  # the slot served nothing: no stable traffic to canary against
    with bank.session() as s:
        actions = [r.action for r in list_receipts(s, subject=f"release/{release['id']}")]
        assert actions == ["release.gate", "release.promote"]
        assert not list_receipts(s, subject="slot/model:triage"), "no direct, ungated set"
    assert get_deployment(bank).stable("model:triage").digest == triage_fit.artifact.digest
    shown = json.loads(runner.invoke(app, ["deploy", "show", "--json", "--workspace", str(bank.root)]).stdout)
    assert shown["stable_placed_by"]["model:triage"]["ungated"] is False  # gated by the goldens
    again = runner.invoke(app, ["triage", "fit", "--deploy", "--json", "--workspace", str(bank.root)])
    assert again.exit_code == 0 and json.loads(again.stdout)["release"] is None  # already live
