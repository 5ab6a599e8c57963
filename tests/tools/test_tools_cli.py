"""`loopwright tools list|call`: the operator's path is the gateway's path."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from loopwright.cli import tools as tools_cli
from loopwright.registry.deployment import set_stable
from loopwright.registry import artifacts
from loopwright.samples.bank.install import CONFIG_DIR


def _cli():
    root = typer.Typer()
    root.add_typer(tools_cli.app, name="tools")
    return root


def test_tools_list_shows_every_contract():
    out = CliRunner().invoke(_cli(), ["tools", "list", "--json"])
    assert out.exit_code == 0, out.output
    tools = {t["name"]: t for t in json.loads(out.output)}
    assert set(tools) >= {"freeze_card", "unfreeze_card", "open_dispute", "escalate_to_human"}
    assert tools["open_dispute"]["confirm"] and "transaction_id" in tools["open_dispute"]["input_schema"]["required"]
    assert tools["freeze_card"]["preconditions"] == ["card_is_active"]


def test_tools_call_uses_the_deployed_policy(book, monkeypatch):
    policy = artifacts.register(book, "policy", "bank", {"policy.toml": (CONFIG_DIR / "policy.toml").read_bytes()})
    set_stable(book, "policy", policy.ref)
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(book.root))
    runner, app = CliRunner(), _cli()
    from loopwright.samples.bank import DATA_DIR

    card = json.loads((DATA_DIR / "cards.jsonl").read_text().splitlines()[0])
    base = ["tools", "call", "freeze_card", "--args", json.dumps({"last4": card["last4"]}), "--key", "op-1", "--json"]
    out = runner.invoke(app, [*base, "--subject", card["customer_id"]])
    assert out.exit_code == 0, out.output
    done = json.loads(out.output)
    assert done["status"] == "done" and done["receipt"]["id"].startswith("rc-")
    again = json.loads(runner.invoke(app, [*base, "--subject", card["customer_id"]]).output)
    assert again["replayed"] and again["receipt"]["id"] == done["receipt"]["id"]
    refused = runner.invoke(app, [*base[:-3], "--key", "op-2", "--json", "--subject", "cus_040"])
    assert refused.exit_code == 2 and json.loads(refused.output)["verdicts"][-1]["name"] == "ownership"
