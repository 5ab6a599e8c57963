"""`rollback corpus` under 32 concurrent clients against `loopwright serve` (its own process, as in production):
in effect within a second, no failed request, no other slot touched."""

from __future__ import annotations

from loopwright.corpus import commits
from loopwright.release import releases
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.release.switch import switch_under_load
from loopwright.samples.bank.questions import LOAD_QUESTIONS
from loopwright.server.process import ServeProcess


def test_rollback_takes_effect_within_a_second_with_no_failed_requests(bank, new_key):
    old = get_deployment(bank).stable("corpus")
    commits.stage_certify(bank, "flexpay-2-0")
    new = commits.commit(bank, "certify FlexPay 2.0")
    set_stable(bank, "corpus", new.ref)
    key = new_key(bank)
    with ServeProcess(bank.root) as server:
        _run_load(bank, server.url, key, old, new)


def _run_load(bank, url, key, old, new):
    before = {slot: s.stable.digest for slot, s in get_deployment(bank).slots.items() if slot != "corpus"}
    result = switch_under_load(url, key, "larkspur-assistant", lambda: releases.rollback(bank, "corpus", reason="test under load"),
                               questions=LOAD_QUESTIONS)
    assert result.outcome.after["digest"] == old.digest
    assert result.requests and result.failed == 0, {status for _, status, _ in result.requests}
    assert result.took(new.digest) < 1.0, f"new commit still served {result.took(new.digest):.2f} s after the rollback"
    late = result.served_after(1.0)
    assert late and set(late) == {old.digest}, (len(result.requests), len(late))
    assert new.digest in result.served_before()
    after = {slot: s.stable.digest for slot, s in get_deployment(bank).slots.items() if slot != "corpus"}
    assert after == before
