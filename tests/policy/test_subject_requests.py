"""Data-subject requests through the privacy_request tool, on SQLite and PostgreSQL (issue 20, item 3).

The flow a chat turn drives (`propose` with the customer's words, `confirm` with the token the answer
returned), without the gateway: the confirmation binds to the caller and conversation, the request gets a
due date and receipts, an erasure waits for staff where the policy says so, an export is masked and fetched
through a signed, expiring link; another customer's id and an unknown subject are refused.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from loopwright.errors import ConflictError, NotFound
from loopwright.policy.loader import deployed_policy
from loopwright.policy.requests import (
    LinkRefused, SubjectRequestRow, approve_request, export_link, list_requests, read_export,
)
from loopwright.policy.subjects import export_subject
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.samples.bank.tools.schema import BankEscalationRow
from loopwright.serving.auth import create_key
from loopwright.store.schema import ApiKeyRow
from loopwright.tools.proposals import confirm, propose


def _customer(ws, subject="cus_001"):
    return create_key(ws, tenant="larkspur-retail", role="customer", scopes=("retail",), subject=subject)[1]


def _ask(ws, principal, text, policy, conversation="conv-1"):
    proposal = propose(ws, "privacy_request", text, principal, policy=policy, conversation=conversation)
    return proposal.result


def _link_parts(url):
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return parsed.path.rsplit("/", 1)[1], int(query["expires"][0]), query["signature"][0]


def test_an_erasure_is_confirmed_in_its_conversation_approved_by_staff_then_done_with_receipts(bank):
    policy = deployed_policy(bank)
    me = _customer(bank)
    asked = _ask(bank, me, "delete my data", policy)
    assert asked.status == "needs_confirmation" and asked.confirmation["arguments"] == {"kind": "erasure", "subject": None}
    token = asked.confirmation["token"]
    with bank.session() as s:
        assert s.scalars(sa.select(SubjectRequestRow)).all() == []  # nothing opened on words alone

    elsewhere = confirm(bank, token, me, policy=policy, conversation="conv-2").result
    assert elsewhere.status == "refused" and "another caller or conversation" in elsewhere.refusal.reason
    tampered = confirm(bank, token[:-2] + ("aa" if not token.endswith("aa") else "bb"), me, policy=policy,
                       conversation="conv-1").result
    assert tampered.status == "refused" and tampered.refusal.reason == "unknown confirmation token"

    opened = confirm(bank, token, me, policy=policy, conversation="conv-1").result
    assert opened.status == "done" and opened.output["status"] == "awaiting_approval", opened.output
    replayed = confirm(bank, token, me, policy=policy, conversation="conv-1").result
    assert replayed.status == "refused" and "already used" in replayed.refusal.reason

    [waiting] = list_requests(bank)
    assert (waiting.kind, waiting.subject, waiting.status) == ("erasure", "cus_001", "awaiting_approval")
    assert 29.9 < waiting.days_left <= 30 and not waiting.overdue
    with pytest.raises(ConflictError):  # nothing is erased before a person approves
        from loopwright.policy.requests import fulfil_request

        fulfil_request(bank, waiting.id, policy=policy, actor="test")
    assert export_subject(bank, "cus_001")["stores"]["bank"] is not None

    done = approve_request(bank, waiting.id, approver="ops@larkspur", policy=policy)
    assert done.status == "completed" and done.subject.startswith("erased-") and list_requests(bank) == []
    with pytest.raises(ConflictError):
        approve_request(bank, waiting.id, approver="ops@larkspur", policy=policy)
    with bank.session() as s:
        assert verify_chain(s, bank).ok
        actions = [r.action for r in list_receipts(s, limit=1000)]
        key = s.get(ApiKeyRow, me.key_id)
    for action in ("tool.privacy_request", "subject.request.open", "subject.request.approve", "subject.erase",
                   "subject.request.fulfil", "key.revoke"):
        assert action in actions, action
    assert key.revoked_at is not None  # the erase revoked the customer's key
    remains = export_subject(bank, "cus_001")["remains"]
    assert remains["subject_requests"]["requests"][0]["status"] == "completed"
    with bank.session() as s:  # the request row no longer names the customer
        assert s.scalars(sa.select(SubjectRequestRow.subject)).one().startswith("erased-")


def test_an_access_request_gives_a_masked_export_behind_a_signed_expiring_link(bank):
    policy = deployed_policy(bank)
    me = _customer(bank, "cus_002")
    with bank.write() as s:  # a raw address in the book, as an older writer might have left it
        s.add(BankEscalationRow(ticket="tk_raw", customer_id="cus_002", tenant="larkspur-retail", priority="normal",
                                status="open", reason="write to zofia.delgado@example.com please",
                                opened_at="2026-11-01T00:00:00Z"))
    asked = _ask(bank, me, "what data do you hold about me?", policy)
    assert asked.confirmation["arguments"]["kind"] == "access"
    done = confirm(bank, asked.confirmation["token"], me, policy=policy, conversation="conv-1").result
    out = done.output
    assert out["status"] == "completed" and out["export_url"].startswith("/v1/privacy/exports/dsr_")
    with bank.session() as s:  # the link is the caller's only: neither the tool's record nor its receipt holds it
        assert "signature=" not in json.dumps([r.to_dict() for r in list_receipts(s, limit=1000)], default=str)

    request_id, expires, signature = _link_parts(out["export_url"])
    export = json.loads(read_export(bank, request_id, expires, signature))
    assert export["subject"] == "cus_002" and export["stores"]["bank"]["customer"]["id"] == "cus_002"
    text = json.dumps(export, ensure_ascii=False)
    assert "zofia.delgado@example.com" not in text and "<EMAIL_1>" in text

    for bad in ((request_id, expires + 1, signature), (request_id, expires, signature[:-1] + ("1" if signature[-1] == "0" else "0")),
                ("dsr_000000000000", expires, signature)):
        with pytest.raises(LinkRefused, match="not valid"):
            read_export(bank, *bad)
    old = export_link(bank, request_id, ttl_s=60, now=time.time() - 120)
    with pytest.raises(LinkRefused, match="expired"):
        read_export(bank, *_link_parts(old))


def test_another_customers_id_and_an_unknown_subject_are_refused_and_open_nothing(bank):
    policy = deployed_policy(bank)
    me = _customer(bank)
    others = _ask(bank, me, "delete the data you hold on cus_002", policy)
    assert others.status == "refused" and others.confirmation is None
    assert others.refusal.name == "ownership" and "no such customer record belongs to the caller" in others.refusal.reason
    stranger = _customer(bank, "cus_x9999")
    unknown = _ask(bank, stranger, "delete my data", policy)
    assert unknown.status == "refused" and "no customer record for cus_x9999" in unknown.refusal.reason
    with bank.session() as s:
        assert s.scalars(sa.select(SubjectRequestRow)).all() == []
    with pytest.raises(NotFound):
        approve_request(bank, "dsr_nonexistent", approver="ops", policy=policy)


def test_without_staff_approval_the_confirmed_erasure_runs_at_once(bank):
    policy = deployed_policy(bank)
    policy = policy.model_copy(update={"privacy": policy.privacy.model_copy(update={"erasure_approval": False})})
    me = _customer(bank, "cus_003")
    asked = _ask(bank, me, "xóa dữ liệu của tôi", policy)
    out = confirm(bank, asked.confirmation["token"], me, policy=policy, conversation="conv-1").result.output
    assert out["status"] == "completed" and out["erased_subject"] == "cus_003" and out["erase_receipt"]
    with bank.session() as s:
        erase = [r for r in list_receipts(s, action="subject.erase")]
        assert len(erase) == 1 and "cus_003" not in erase[0].subject
    assert list_requests(bank) == [] and list_requests(bank, include_completed=True)[0].status == "completed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_privacy_goldens_pass_through_the_request_path_and_open_nothing(triaged_bank):
    from loopwright.release.goldens import load_suite, run_suite
    from loopwright.serving.pipeline import Gateway

    _, goldens = load_suite(triaged_bank)
    privacy = [g for g in goldens if g.intent == "privacy_request"]
    assert {g.language for g in privacy} == {"en", "es", "vi"} and len(privacy) == 9
    gateway = Gateway(triaged_bank, watch=False)
    try:
        report = run_suite(gateway, privacy, suite="goldens/bank")
    finally:
        gateway.close()
    inputs = {g.id: g.input for g in privacy}
    failed = {inputs[r.id]: r.failures for r in report.results if not r.passed}
    # Measured: the sample's triage (frozen English MiniLM, 15 Vietnamese rows per intent) reads this
    # Vietnamese access question as chargeback_grace (p = 0.80), so no tool is called; the other eight pass.
    assert failed == {"Ngân hàng đang giữ những dữ liệu gì về tôi?": ["tool privacy_request should have run (not called)"]}
    with triaged_bank.session() as s:  # evaluations validate the call, they never open a request
        assert s.scalars(sa.select(SubjectRequestRow)).all() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operators_list_and_approve_from_the_cli(bank, monkeypatch):
    import os
    import subprocess
    import sys

    from typer.testing import CliRunner

    from loopwright.cli import app

    policy = deployed_policy(bank)
    me = _customer(bank, "cus_006")
    asked = _ask(bank, me, "please erase all my personal data", policy)
    request_id = confirm(bank, asked.confirmation["token"], me, policy=policy, conversation="conv-1").result.output["request_id"]
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(bank.root))
    runner = CliRunner()
    listed = runner.invoke(app, ["subject", "requests", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["id"], row["kind"], row["status"], row["overdue"]) == (request_id, "erasure", "awaiting_approval", False)
    shown = runner.invoke(app, ["subject", "requests"])
    assert request_id in shown.output and "awaiting_approval" in shown.output
    approved = runner.invoke(app, ["subject", "approve", request_id, "--json"])
    assert approved.exit_code == 0 and json.loads(approved.output)["status"] == "completed", approved.output
    assert json.loads(runner.invoke(app, ["subject", "requests", "--json"]).output) == []
    again = subprocess.run([sys.executable, "-m", "loopwright", "subject", "approve", request_id], capture_output=True,
                           text=True, env={**os.environ}, timeout=120)
    assert again.returncode != 0 and again.stderr.strip() == f"error: request {request_id} is completed, not awaiting approval"
