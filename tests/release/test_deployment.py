"""Deployment slots: typed by kind, receipted before/after, versioned for watchers."""

import pytest

from loopwright.errors import InvalidInput, UnknownRef
from loopwright.registry import artifacts
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.release.validation import deploy_checked
from loopwright.samples.bank.install import CONFIG_DIR, _files


def test_set_stable_records_before_and_after(workspace):
    c1 = artifacts.register(workspace, "corpus", "bank", {"manifest.json": b"{}"})
    c2 = artifacts.register(workspace, "corpus", "bank", {"manifest.json": b"{\"a\":1}"})
    r1 = set_stable(workspace, "corpus", c1.ref, reason="first")
    r2 = set_stable(workspace, "corpus", c2.ref, reason="second")
    assert r1.before is None and r1.after["stable"] == "corpus/bank@1"
    assert r2.before == {"stable": "corpus/bank@1", "digest": c1.digest}
    assert r2.details["reason"] == "second"
    dep = get_deployment(workspace)
    assert dep.version == 2
    assert dep.stable("corpus").digest == c2.digest
    with workspace.session() as s:
        assert [r.action for r in list_receipts(s, subject="slot/corpus")] == ["deploy.set", "deploy.set"]
        assert verify_chain(s, workspace).ok


def test_slots_are_independent(workspace):
    m = artifacts.register(workspace, "model", "triage", {"w": b"1"})
    bundle = artifacts.files_from_dir(CONFIG_DIR / "prompt")
    p = artifacts.register(workspace, "prompt", "bank", bundle)
    set_stable(workspace, "model:triage", m.ref)
    set_stable(workspace, "prompt", p.ref)
    p2 = artifacts.register(workspace, "prompt", "bank", {**bundle, "system.md": b"Be brief."})
    set_stable(workspace, "prompt", p2.ref)
    dep = get_deployment(workspace)
    assert dep.stable("model:triage").id == m.id
    assert dep.stable("prompt").id == p2.id


@pytest.mark.parametrize(
    ("slot", "ref", "error"),
    [
        ("weights", "model/triage", InvalidInput),
        ("model:Bad Role", "model/triage", InvalidInput),
        ("prompt", "model/triage", InvalidInput),
        ("model:triage", "model/none", UnknownRef),
    ],
)
def test_bad_changes_leave_deployment_as_it_was(workspace, slot, ref, error):
    m = artifacts.register(workspace, "model", "triage", {"w": b"1"})
    set_stable(workspace, "model:triage", m.ref)
    with pytest.raises(error):
        set_stable(workspace, slot, ref)
    dep = get_deployment(workspace)
    assert dep.version == 1 and list(dep.slots) == ["model:triage"]


def _one_tier(tier: str) -> bytes:
    return f"mode = 'governed'\n[tiers.small]\nprice = 'small'\n{tier}\n[routing]\ndefault_tier = 'small'\nfallback_tier = 'small'\n".encode()


@pytest.mark.parametrize(
    ("kind", "files", "problem"),
    [
        ("prompt", {"system.md": b"hi"}, "bundle.toml"),
        ("router", {"router.toml": b"mode = 'governed'\n[tiers.small]\nbackend = 'extractive'\nprice = 'nope'\n"}, "price"),
        ("policy", {"policy.toml": b"[retrieval]\nbogus = 1\n"}, "bogus"),
        ("router", {"router.toml": _one_tier("backend = 'nope'"), **_files("prices.json")},
         "unknown backend 'nope'"),
        ("router", {"router.toml": _one_tier("backend = 'reader'\noptions = { max_spans = 0 }"),
                    **_files("prices.json")}, "max_spans"),
        # the reader tier's model slot serves nothing yet: refused before the gate, not on every request
        ("router", {"router.toml": (CONFIG_DIR / "router-economics.toml").read_bytes(), **_files("prices.json")},
         "tier 'small' (reader) needs slot model:reader, which serves nothing"),
    ],
)
def test_an_artifact_the_gateway_cannot_load_is_refused_at_deploy_time(workspace, kind, files, problem):
    bad = artifacts.register(workspace, kind, "bad", files)
    with pytest.raises(InvalidInput, match="cannot be served") as err:
        deploy_checked(workspace, kind, bad.ref)
    assert problem in err.value.one_line()
    assert kind not in get_deployment(workspace).slots


def test_the_deployed_artifact_of_a_channel_falls_back_to_stable(workspace):
    from loopwright.registry.deployment import deployed_artifact, put_canary

    c1 = artifacts.register(workspace, "corpus", "bank", {"manifest.json": b"{}"})
    c2 = artifacts.register(workspace, "corpus", "bank", {"manifest.json": b"{\"a\":1}"})
    assert deployed_artifact(workspace, "corpus") is None
    set_stable(workspace, "corpus", c1.ref)
    assert deployed_artifact(workspace, "corpus", channel="canary").digest == c1.digest  # no canary: stable
    with workspace.write() as s:
        put_canary(s, "corpus", c2, 0.2)
    assert deployed_artifact(workspace, "corpus", channel="canary").digest == c2.digest
    assert deployed_artifact(workspace, "corpus").digest == c1.digest
