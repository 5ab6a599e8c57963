"""Every receipt the release, flag, key, corpus, tool and erasure paths write reads back into its typed payload,
and the typed payload gives back exactly the stored bytes."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from loopwright.corpus import commits
from loopwright.digests import canonical_json
from loopwright.policy.principal import Principal
from loopwright.registry import artifacts, payloads
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.install import CONFIG_DIR
from loopwright.store.schema import ReceiptRow


def _certified(bank):
    commits.stage_certify(bank, "flexpay-2-0")
    return commits.commit(bank, "certify FlexPay 2.0")


@pytest.mark.parametrize(("end", "share"), [(releases.promote, 0.1), (releases.abort, 0.3)])
def test_an_ended_release_records_the_share_it_ended_at(bank, end, share):
    good = _certified(bank)
    release, _ = releases.start(bank, "corpus", good.ref, canary=share, skip_gate=True)
    end(bank, "corpus")
    with bank.session() as s:
        receipt = list_receipts(s, subject=f"release/{release.id}")[-1]
    assert receipt.before["share"] == share
    assert isinstance(receipt.payload, payloads.ReleaseEnd) and receipt.payload.before.share == share


def _every_action(bank):
    from loopwright.policy.loader import deployed_policy
    from loopwright.policy.subjects import erase_subject
    from loopwright.registry.flags import delete_flag, set_flag
    from loopwright.serving.auth import create_key, revoke_key
    from loopwright.tools import execute_tool
    from loopwright.samples.bank.tools.book import load_bank_book

    load_bank_book(bank)
    set_flag(bank, "small.tier", enabled=True, percentage=30, reason="try it")
    set_flag(bank, "small.tier", enabled=False, reason="off")
    delete_flag(bank, "small.tier", reason="done")
    _, principal = create_key(bank, tenant="acme", role="admin", scopes=("ops",))
    revoke_key(bank, principal.key_id)
    first = get_deployment(bank).stable("corpus")
    good = _certified(bank)
    releases.start(bank, "corpus", good.ref, canary=0.1, skip_gate=True, reason="go")
    releases.step_up(bank, "corpus", 0.5, actor="release-controller", evidence={"share": 0.1, "decision": "step"})
    releases.promote(bank, "corpus")
    releases.rollback(bank, "corpus", to=first.ref, reason="back")
    commits.revert(bank, good.ref)
    golden = {"id": "s1", "input": "What is the APY on the Larkspur Saver account?", "tenant": "larkspur-retail", "critical": True, "must_contain": ["3.80%"]}
    artifacts.register(bank, "goldens", "bank", {"goldens.jsonl": (json.dumps(golden) + "\n").encode()})
    prompt = artifacts.register(bank, "prompt", "bank", {**artifacts.files_from_dir(CONFIG_DIR / "prompt"), "system.md": b"Be brief and cite."})
    releases.start(bank, "prompt", prompt.ref, canary=0.2)
    card = next(json.loads(line) for line in (DATA_DIR / "cards.jsonl").read_text().splitlines() if '"cus_001"' in line)
    customer = Principal("larkspur-retail", "customer", ("retail",), "cus_001", key_id="test")
    execute_tool(bank, "freeze_card", {"last4": card["last4"]}, customer, policy=deployed_policy(bank), idempotency_key="k1")
    erase_subject(bank, "cus_001")


def test_every_receipt_reads_back_typed_and_gives_back_its_stored_bytes(bank):
    _every_action(bank)
    with bank.session() as s:
        found = list_receipts(s)
        stored = {r.seq: r for r in s.scalars(sa.select(ReceiptRow))}
        assert verify_chain(s, bank).ok
    untyped = [r.action for r in found if r.payload is None]
    assert untyped == []
    for receipt in found:
        payload, row = receipt.payload, stored[receipt.seq]
        assert payload.action_name == receipt.action
        parts = payload.parts()
        assert (canonical_json(parts["before"]), canonical_json(parts["after"])) == (row.before, row.after), receipt.action
        if row.details is not None:
            assert canonical_json(parts["details"]) == row.details, receipt.action
    kinds = {type(r.payload) for r in found}
    assert kinds >= {
        payloads.ArtifactRegister, payloads.CorpusCommit, payloads.CorpusRevert, payloads.DeploySet, payloads.FlagSet,
        payloads.FlagDelete, payloads.KeyCreate, payloads.KeyRevoke, payloads.ReleaseGateSkipped, payloads.ReleaseCanary,
        payloads.ReleaseStep, payloads.ReleasePromote, payloads.Rollback, payloads.ReleaseGate, payloads.ToolAction,
        payloads.SubjectErase,
    }
    # The erasure dropped the tool receipt's details; it still reads back, with no details.
    (tool,) = [r for r in found if r.action == "tool.freeze_card"]
    assert tool.details is None and tool.payload.details is None and tool.payload.after == {"card_id": tool.after["card_id"], "status": "frozen"}
