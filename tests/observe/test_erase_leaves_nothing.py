"""After `subject erase`: traces are pseudonymised, the subject's keys are revoked, the SQLite file and its
WAL no longer hold what the customer wrote, and an export lists what remains and why."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from loopwright.serving.trace_store import load_traces
from loopwright.policy.subjects import erase_subject, export_subject, pseudonym
from loopwright.serving.auth import AuthError, Authenticator, create_key
from loopwright.serving.pipeline import ChatRequest, Gateway
from loopwright.store.schema import TraceRow

WORDS = "My neighbour Quillfeather-Zanzibar asked: how much is a domestic wire?"


def _ask_as(bank, principal, conversation=None):
    gateway = Gateway(bank, watch=False)
    try:
        return gateway.complete(ChatRequest("larkspur-assistant", [{"role": "user", "content": WORDS}], conversation=conversation),
                                principal, sync_trace=True)
    finally:
        gateway.close()


def test_erase_pseudonymises_traces_revokes_keys_and_says_what_remains(bank):
    secret, principal = create_key(bank, tenant="larkspur-retail", role="customer", scopes=("retail",), subject="cus_001")
    gateway = Gateway(bank, watch=False)
    principal = gateway.principal_for("larkspur-retail", "customer", "cus_001", key_id=principal.key_id)
    gateway.close()
    done = _ask_as(bank, principal, conversation="quillfeather.wire")  # a caller-chosen id that names someone
    again = _ask_as(bank, principal, conversation="quillfeather.wire")
    assert Authenticator(bank).authenticate(f"Bearer {secret}").subject == "cus_001"

    receipt = erase_subject(bank, "cus_001")
    assert receipt.after["erased"]["api_keys"] == 1 and receipt.after["erased"]["traces"] == 2

    with bank.session() as s:
        row = s.get(TraceRow, done.trace_id)
        record = json.loads(row.record)
    alias = pseudonym(bank, "cus_001")
    assert row.subject == alias and record["principal"]["subject"] == alias and record["principal"]["key_id"] == ""
    assert row.key_id is None  # nor can the key, were it re-issued, read the trace
    # the typed readers (reports, canary analysis) still read the erased trace
    erased = next(t for t in load_traces(bank, ids=[done.trace_id]))
    assert erased.principal.subject == alias and erased.principal.key_id == ""
    assert "cus_001" not in row.record and principal.key_id not in row.record and "quillfeather" not in row.record.lower()
    with bank.session() as s:  # its turns stay one conversation, under a stand-in for the id
        assert row.conversation.startswith("erased_") and s.get(TraceRow, again.trace_id).conversation == row.conversation
    with pytest.raises(AuthError):
        Authenticator(bank).authenticate(f"Bearer {secret}")

    after = export_subject(bank, "cus_001")
    assert after["stores"]["traces"] == []
    remains = after["remains"]
    assert remains["traces"]["trace_ids"] == [done.trace_id, again.trace_id] and "kept" in remains["traces"]["why"]
    assert remains["api_keys"]["key_ids"] == [principal.key_id]
    assert remains["receipts"]["receipts"][0]["id"] == receipt.id
    assert "cus_002" not in json.dumps(after)


def test_sqlite_file_and_wal_hold_no_erased_text(bank):
    if bank.engine.dialect.name != "sqlite":
        pytest.skip("the write-ahead log is SQLite's")
    gateway = Gateway(bank, watch=False)
    principal = gateway.principal_for("larkspur-retail", "customer", "cus_001")
    gateway.close()
    _ask_as(bank, principal)
    with bank.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    database = sa.engine.make_url(bank.database_url).database

    def on_disk() -> bytes:
        out = b""
        for suffix in ("", "-wal"):
            try:
                with open(database + suffix, "rb") as f:
                    out += f.read()
            except FileNotFoundError:
                pass
        return out

    assert b"Quillfeather" in on_disk()
    erase_subject(bank, "cus_001")
    assert b"Quillfeather" not in on_disk()
