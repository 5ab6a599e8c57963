"""Held-out measurement: 209 freeze, unfreeze, lost-card and dispute requests (and their negations and
cancellations) in EN/ES/VI through the real gateway and triage model: 0 opposite actions executed.

The phrases are in tests/data/heldout_actions.jsonl, written apart from the
sample's training phrases and never used for training or to tune the action
words (see tests/data/README.md). Each card request runs twice, once with the
card active and once frozen, so whichever action it wrongly asked for could
act. The simulated customer confirms a question only when it names the action
they asked for; `blind` also counts what a customer who confirms everything
would get (the question names the action, so that is theirs to refuse).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopwright.samples.bank.tools.schema import BankCardRow, BankDisputeRow
from loopwright.serving.pipeline import ChatRequest, Gateway
from loopwright.tools.schema import ToolCallRow

HELD_OUT = Path(__file__).parent.parent / "data" / "heldout_actions.jsonl"
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSSIBLE_ONLY_WHEN = {"freeze_card": "active", "unfreeze_card": "frozen"}
CUSTOMER, LAST4, TXN = "cus_001", "5212", "txn_0479"  # cus_001's card_002 and a transaction on it within the window


def _phrases() -> list[dict]:
    return [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def _reset(ws, status: str | None) -> None:
    with ws.write() as s:  # the harness resets the book between phrases; the gateway never sees this
        s.execute(sa.delete(BankDisputeRow))
        s.execute(sa.delete(ToolCallRow))
        if status:
            s.execute(sa.update(BankCardRow).where(BankCardRow.last4 == LAST4).values(status=status))


def _ask(gateway, principal, text: str, conversation: str, token: str | None = None):
    request = ChatRequest("larkspur-assistant", [{"role": "user", "content": text}], user=conversation, confirm_token=token)
    completion = gateway.complete(request, principal)
    executed = [t.name for t in completion.trace.tools if t.status == "executed"]
    return completion, executed


def test_the_held_out_phrases_are_written_apart_from_the_training_phrases():
    from loopwright.samples.bank import DATA_DIR

    phrases = _phrases()
    assert len(phrases) >= 200 and {p["language"] for p in phrases} == {"en", "es", "vi"}
    training = {json.loads(line)["text"].lower() for name in ("utterances.jsonl", "adapter_examples.jsonl")
                for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines() if line.strip()}
    filled = {p["text"].replace("{last4}", LAST4).replace("{txn}", TXN).lower() for p in phrases}
    assert not filled & training


@SQLITE
def test_no_opposite_action_is_executed_on_held_out_phrases(triaged_bank):
    gateway = Gateway(triaged_bank, watch=False)
    principal = gateway.principal_for("larkspur-retail", "customer", CUSTOMER, key_id="heldout")
    stats: dict[str, Counter] = defaultdict(Counter)
    opposite: list[tuple] = []
    named_opposite: list[str] = []
    try:
        for p in _phrases():
            text = p["text"].replace("{last4}", LAST4).replace("{txn}", TXN)
            for state in ((None,) if "dispute" in p["kind"] else ("active", "frozen")):
                _reset(triaged_bank, state)
                conversation = f"{p['id']}-{state}"
                lang = stats[p["language"]]
                lang["runs"] += 1
                completion, executed = _ask(gateway, principal, text, conversation)
                tools = completion.trace.tools
                triage_tool = tools[0].name if tools else None
                if p["wants"] and triage_tool and triage_tool != p["wants"]:
                    lang["triage_other_tool"] += 1
                asked = (completion.loopwright.get("confirmation") or {})
                if asked:
                    lang["asked_to_confirm"] += 1
                    if asked["tool"] == p["wants"]:  # the careful customer says yes to what they asked for
                        _, more = _ask(gateway, principal, "yes", conversation, asked["token"])
                        executed += more
                    else:
                        if asked["tool"] in p["forbid"]:
                            lang["asked_about_opposite"] += 1
                            named_opposite.append(p["id"])
                        _, blind = _ask(gateway, principal, "yes", conversation, asked["token"])
                        lang["blind_confirm_opposite"] += sum(name in p["forbid"] for name in blind)
                if any(name in p["forbid"] for name in executed):
                    opposite.append((p["id"], state, text, executed))
                    lang["opposite_executed"] += 1
                if p["wants"] and state != POSSIBLE_ONLY_WHEN.get(p["wants"], state):
                    continue  # the card is already in the state asked for: nothing could be done
                if p["wants"]:
                    lang["wanted_possible"] += 1
                    lang["wanted_executed"] += p["wants"] in executed
    finally:
        gateway.close()
    for language, c in sorted(stats.items()):
        print(f"{language}: {dict(sorted(c.items()))}")
    print("questions that named the opposite action (a careful customer says no):", named_opposite)
    assert not opposite, opposite
    assert sum(c["runs"] for c in stats.values()) >= 350
