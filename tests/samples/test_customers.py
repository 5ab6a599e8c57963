"""The simulated customer's conversation is the documented function of what happened to it: a pending action is
confirmed, a failed answer is rephrased up to the customer's patience and then handed off or left (and come back
to days later), and the CSAT score falls with every failed answer."""

from __future__ import annotations

import random
from collections import Counter

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.customers import DAY_S, MAX_TURNS, Customer, patience
from loopwright.samples.bank.simulate import _World, simulate

WORLD = _World(DATA_DIR)
CONTACTS = [r for r in simulate(400, seed=1) if r["kind"] == "faq" and r["customer_id"]][:120]


def _live(request, answers, seed):
    """Play a contact against answers that pass or fail as `answers` says; returns the customer and its turns."""
    customer = Customer.of(request, WORLD, random.Random(seed))
    turn, sent = customer.opening(), []
    while turn is not None:
        sent.append(turn)
        passed = answers(len(sent))
        turn = customer.reply(passed, None)
    return customer, sent


def test_a_failed_answer_is_rephrased_up_to_patience_then_handed_off_or_left():
    endings = Counter()
    for i, request in enumerate(CONTACTS):
        customer, sent = _live(request, lambda n: False, seed=i)
        rephrasings = [t for t in sent[1:] if t.request["intent"] == request["intent"]]
        assert len(rephrasings) <= patience(request["customer_id"])
        assert all(t.request["expect"] == request["expect"] for t in rephrasings)  # the same question, other words
        assert all(b.t > a.t for a, b in zip(sent, sent[1:]))
        if customer.handed_off:
            assert sent[-1].request["intent"] == "human_agent" and sent[-1].request["expect"]["tool"]["name"] == "escalate_to_human"
            assert customer.come_back() is None
            endings["handoff"] += 1
        else:
            again = customer.come_back()
            if again is not None:
                assert 0.5 * DAY_S <= again.start - sent[-1].t <= 3 * DAY_S and again.first["text"] == request["text"]
                assert again.come_back() is None  # once
                endings["back"] += 1
            else:
                endings["gave up"] += 1
    assert set(endings) == {"handoff", "back", "gave up"}, endings


def test_a_passed_answer_ends_the_conversation_or_brings_a_follow_up():
    turns = Counter()
    for i, request in enumerate(CONTACTS):
        customer, sent = _live(request, lambda n: True, seed=i)
        assert not customer.handed_off and customer.come_back() is None and len(sent) <= MAX_TURNS
        turns[len(sent)] += 1
    assert turns[1] > turns[2] > 0  # follow-ups are the exception


def test_a_pending_action_is_confirmed_with_its_token():
    request = next(r for r in simulate(400, seed=1) if r["kind"] == "tool" and r["intent"] == "card_unfreeze")
    confirmed = 0
    for seed in range(20):
        customer = Customer.of(request, WORLD, random.Random(seed))
        customer.opening()
        turn = customer.reply(True, {"token": "tok-1", "expires_at": "later"})
        if turn is not None:
            assert turn.confirm_token == "tok-1" and turn.request["expect"] == request["expect"]
            confirmed += 1
    assert confirmed >= 15


def test_csat_falls_with_what_went_wrong():
    def scores(answers):
        out = []
        for i, request in enumerate(CONTACTS * 3):
            customer, _ = _live(request, answers, seed=i)
            if (score := customer.survey()) is not None:
                assert 1 <= score <= 5
                out.append(score)
        return sum(out) / len(out), len(out) / (len(CONTACTS) * 3)

    good, answered = scores(lambda n: True)
    late = scores(lambda n: n > 1)[0]  # failed first, settled on a rephrasing
    bad = scores(lambda n: False)[0]
    assert good > late > bad and good >= 4.5 and bad <= 2
    assert 0.3 < answered < 0.6  # not everyone answers the survey
