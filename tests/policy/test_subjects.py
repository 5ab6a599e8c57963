"""Data-subject export and erasure on SQLite and PostgreSQL: payloads go, hashes stay, the chain verifies."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from loopwright.cli import policy as policy_cli
from loopwright.policy.principal import Principal
from loopwright.policy.loader import load_policy
from loopwright.policy.subjects import erase_subject, export_subject, registered_stores
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.tools import execute_tool
from loopwright.samples.bank.tools.book import load_bank_book

POLICY = load_policy((CONFIG_DIR / "policy.toml").read_bytes())


def _card(customer_id):
    from loopwright.samples.bank import DATA_DIR

    for line in (DATA_DIR / "cards.jsonl").read_text().splitlines():
        card = json.loads(line)
        if card["customer_id"] == customer_id:
            return card
    raise LookupError(customer_id)


def test_export_then_erase_keeps_the_audit_chain_whole(workspace, monkeypatch):
    load_bank_book(workspace)
    me = Principal("larkspur-retail", "customer", ("retail",), "cus_005")
    other = Principal("larkspur-retail", "customer", ("retail",), "cus_006")
    frozen = _card("cus_005")["last4"]
    execute_tool(workspace, "freeze_card", {"last4": frozen}, me, policy=POLICY)
    execute_tool(workspace, "escalate_to_human", {"reason": "email me at someone@example.com"}, me, policy=POLICY)
    kept = execute_tool(workspace, "freeze_card", {"last4": _card("cus_006")["last4"]}, other, policy=POLICY)
    assert {"tool_calls", "bank"} <= set(registered_stores())

    exported = export_subject(workspace, "cus_005")
    calls = exported["stores"]["tool_calls"]
    assert [c["tool"] for c in calls] == ["freeze_card", "escalate_to_human"]
    assert calls[1]["inputs"]["reason"] == "email me at <EMAIL_1>"
    assert calls[0]["receipt"]["details"]["customer"] == "cus_005"
    assert {c["last4"]: c["status"] for c in exported["stores"]["bank"]["cards"]}[frozen] == "frozen"
    assert "cus_006" not in json.dumps(exported)

    receipt = erase_subject(workspace, "cus_005")
    assert receipt.action == "subject.erase" and "cus_005" not in receipt.subject
    assert receipt.after == {"erased": {"api_keys": 0, "bank": 1, "subject_requests": 0, "tool_calls": 2, "traces": 0}}
    with workspace.session() as s:
        report = verify_chain(s, workspace)
        assert report.ok, report
        by_seq = {r.seq: r for r in list_receipts(s)}
    after = export_subject(workspace, "cus_005")
    for call in after["stores"]["tool_calls"]:
        assert call["inputs"] is None and call["output"] is None and call["erased_at"]
        assert call["receipt"]["details"] is None
        assert by_seq[call["receipt_seq"]].digest == call["receipt"]["digest"]
    assert after["stores"]["bank"]["escalations"][0]["reason"] is None
    # Another customer's records are untouched.
    assert by_seq[kept.receipt.seq].details["customer"] == "cus_006"

    runner, root = CliRunner(), typer.Typer()
    root.add_typer(policy_cli.subject_app, name="subject")
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(workspace.root))
    out = runner.invoke(root, ["subject", "export", "cus_006", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["stores"]["tool_calls"][0]["ticket"] == kept.ticket
    out = runner.invoke(root, ["subject", "erase", "cus_006", "--yes", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["erased"]["tool_calls"] == 1
