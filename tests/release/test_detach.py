"""Detaching an adapter: its slot serves nothing, its base stays, one receipt, and the receipts still rebuild the table."""

import pytest

from loopwright.errors import InvalidInput, NotFound
from loopwright.registry import artifacts
from loopwright.registry.audit import replay_deployment
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.release.releases import detach


def test_detach_empties_the_adapter_slot_alone_with_a_receipt(workspace):
    base = artifacts.register(workspace, "model", "triage", {"w": b"1"})
    adapter = artifacts.register(workspace, "adapter", "triage-grace", {"a": b"1"})
    set_stable(workspace, "model:triage", base.ref)
    set_stable(workspace, "adapter:triage", adapter.ref)
    version = get_deployment(workspace).version
    receipt = detach(workspace, "adapter:triage", reason="the new base learnt it", evidence={"kept": True})
    dep = get_deployment(workspace)
    assert dep.stable("adapter:triage") is None and dep.stable("model:triage").digest == base.digest
    assert dep.version > version
    assert receipt.action == "deploy.detach" and receipt.before["stable"] == adapter.ref
    assert receipt.after == {"stable": None, "digest": None} and receipt.details["evidence"] == {"kept": True}
    with workspace.session() as s:
        assert [r.action for r in list_receipts(s, subject="slot/adapter:triage")] == ["deploy.set", "deploy.detach"]
        assert verify_chain(s, workspace).ok
        placed = replay_deployment(s)
    assert ("adapter:triage", "stable") not in placed and placed[("model:triage", "stable")].digest == base.digest


def test_only_an_attached_adapter_slot_can_be_detached(workspace):
    base = artifacts.register(workspace, "model", "triage", {"w": b"1"})
    set_stable(workspace, "model:triage", base.ref)
    with pytest.raises(InvalidInput, match="only an adapter slot"):
        detach(workspace, "model:triage")
    with pytest.raises(NotFound, match="nothing is attached"):
        detach(workspace, "adapter:triage")
    assert get_deployment(workspace).stable("model:triage").digest == base.digest
