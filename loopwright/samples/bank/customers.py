"""How a simulated Larkspur customer carries on a conversation: a documented function of what happened to it.

`loopwright simulate` draws each contact's first message; a `Customer` then
decides every later turn from what the assistant did, and only from that
(whether the answer passed the checks the customer's question expects, whether
an action waits for a yes), never from any figure the run is meant to show:

- an answer that passed: the customer confirms a pending action (`CONFIRM`);
  otherwise after a question may ask one follow-up in the same language
  (`FOLLOW_UP`), and is done;
- an answer that failed (a wrong or missing fact, a decline of a real
  question, an action that did not run): the customer rephrases the same
  question (`REPHRASE`) up to their patience (`patience`: one or two
  rephrasings, fixed per customer); out of patience, asks for a person
  (`HANDOFF`), or leaves and comes back on the same question 0.5 to 3
  simulated days later (`COME_BACK`, once), or gives up;
- contacts open on a calendar where each second of the simulator's stream
  is a day (`CALENDAR_S`): its four arrivals a second become four contacts a
  day among the bank's 40 customers, each back every ten days or so, as a
  bank's customers are, so a repeat contact inside the policy's window is
  mostly a come-back, not a coincidence; turns are `THINK_S` plus an
  exponential pause (mean `PAUSE_S`) apart;
- the CSAT survey at the end is answered with probability `SURVEY` with
  5, less one per failed answer, less one for a hand-off, less two if
  nothing the customer asked was settled, within 1..5, and then one point
  lower or higher with probability `MOOD` each (people differ).

A customer without a customer id (staff) cannot be handed off or come back as
the same person: they give up. Off-topic chit-chat and blocked actions on
another customer's card are not rephrased: the customer got their answer.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from loopwright.samples.bank.questions import DECLINE, FAQ, Question
from loopwright.samples.bank.simulate import _World, _from_templates, _request, reformat, wrap

FOLLOW_UP = 0.2
CONFIRM = 0.9
REPHRASE = 0.8
HANDOFF = 0.5
COME_BACK = 0.6
SURVEY = 0.45
MOOD = 0.15
THINK_S = 12.0
PAUSE_S = 25.0
MAX_TURNS = 5
DAY_S = 86_400.0
CALENDAR_S = DAY_S  # simulated seconds per second of the simulator's stream (`t`)
YES = {"en": "yes, please go ahead", "es": "sí, adelante por favor", "vi": "vâng, làm đi ạ"}
# Kinds a customer rephrases when the answer fails them (chit-chat and another's card: nothing to insist on).
INSISTS = ("faq", "tool", "pii", "staff")


def patience(customer_id: str | None) -> int:
    """How many times a customer rephrases before giving up on the assistant: 1 or 2, fixed by their id."""
    if customer_id is None:
        return 1
    return 1 + hashlib.sha256(customer_id.encode()).digest()[0] % 2


@dataclass
class Turn:
    """One message the customer sends: the request (simulator shape), its simulated time, a confirmation token."""

    request: dict[str, Any]
    t: float
    confirm_token: str | None = None


@dataclass
class Customer:
    """One contact (one conversation) of one simulated customer."""

    first: dict[str, Any]
    world: _World
    rng: random.Random
    start: float  # simulated seconds
    returning: bool = False  # this contact is the come-back of an earlier one
    failed: int = 0
    passed: int = 0
    rephrased: int = 0
    handed_off: bool = False
    pending: bool = False  # the last answer asked to confirm an action
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def of(cls, request: dict[str, Any], world: _World, rng: random.Random) -> Customer:
        """The contact that opens with the simulator's `request`, on the simulated calendar."""
        return cls(request, world, rng, request["t"] * CALENDAR_S)

    def opening(self) -> Turn:
        turn = Turn(self.first, self.start)
        self.turns.append(turn)
        return turn

    def reply(self, passed: bool, confirmation: dict[str, Any] | None) -> Turn | None:
        """The next message after an answer that `passed` the customer's checks (or not), or None: done."""
        last = self.turns[-1]
        if passed:
            self.passed += 1
        else:
            self.failed += 1
        if len(self.turns) >= MAX_TURNS or self.handed_off:
            return None
        t = last.t + THINK_S + self.rng.expovariate(1 / PAUSE_S)
        request = last.request
        if passed and confirmation and self.rng.random() < CONFIRM:
            confirm = {**request, "text": YES[request["language"]]}
            return self._send(Turn(confirm, t, confirm_token=confirmation.get("token")))
        if passed:
            if request["kind"] == "faq" and self.rng.random() < FOLLOW_UP:
                return self._send(Turn(self._follow_up(request), t))
            return None
        if request["kind"] not in INSISTS:
            return None
        if self.rephrased < patience(request["customer_id"]) and self.rng.random() < REPHRASE:
            self.rephrased += 1
            return self._send(Turn(self._rephrase(request), t))
        if request["customer_id"] is not None and self.rng.random() < HANDOFF:
            self.handed_off = True
            return self._send(Turn(self._handoff(request), t))
        return None

    def come_back(self) -> Customer | None:
        """A new contact on the same question days later, if this one left unsettled and the customer returns."""
        if self.passed or self.handed_off or self.returning or self.first["customer_id"] is None:
            return None
        if self.rng.random() >= COME_BACK:
            return None
        when = self.turns[-1].t + self.rng.uniform(0.5, 3.0) * DAY_S
        again = {**self.first, "id": self.first["id"] + "r", "t": round(when, 3)}
        return Customer(again, self.world, self.rng, when, returning=True)

    def survey(self) -> int | None:
        """The CSAT score the customer gives at the end, or None when they skip the survey."""
        if self.rng.random() >= SURVEY:
            return None
        score = 5 - self.failed - (1 if self.handed_off else 0) - (2 if not self.passed else 0)
        roll = self.rng.random()
        score += -1 if roll < MOOD else (1 if roll < 2 * MOOD else 0)
        return max(1, min(5, score))

    def _send(self, turn: Turn) -> Turn:
        turn.request = {**turn.request, "id": f"{self.first['id']}.{len(self.turns) + 1}", "t": round(turn.t, 3)}
        self.turns.append(turn)
        return turn

    def _follow_up(self, request: dict[str, Any]) -> dict[str, Any]:
        q = self.rng.choice(self.world.questions[request["language"]])
        text = wrap(self.rng.choice(q.texts), q.language, self.rng)
        return _request("faq", text, q, q.language, q.intent, request["tenant"], request["customer_id"])

    def _rephrase(self, request: dict[str, Any]) -> dict[str, Any]:
        """The same question in other words: another paraphrase of it when the bank has one, else the same text
        reworded (case, spacing, punctuation) with another greeting."""
        language = request["language"]
        q = _question_of(request)
        if q is not None and len(q.texts) > 1:
            others = [t for t in q.texts if t.lower() not in request["text"].lower()] or list(q.texts)
            text = wrap(self.rng.choice(others), language, self.rng)
        elif q is None and request["kind"] == "faq" and not request["expect"]["must_contain"]:
            text = _from_templates(request["intent"], language, self.rng)  # a template question: no facts to keep
        else:
            text = wrap(reformat(request["text"], self.rng), language, self.rng)
        return {**request, "text": text}

    def _handoff(self, request: dict[str, Any]) -> dict[str, Any]:
        language = request["language"]
        q = self.rng.choice(self.world.escalations[language])
        text = self.rng.choice(q.texts) if self.rng.random() < 0.5 else _from_templates("human_agent", language, self.rng)
        return _request("tool", text, q, language, "human_agent", request["tenant"], request["customer_id"])


_BY_TEXT: dict[str, Question] = {}


def _question_of(request: dict[str, Any]) -> Question | None:
    """The bank question whose paraphrase the request carries (None for a template or reworded text)."""
    if not _BY_TEXT:
        for q in FAQ + DECLINE:
            for text in q.texts:
                _BY_TEXT[text.lower()] = q
    said = request["text"].lower()
    for text, q in _BY_TEXT.items():
        if text in said and q.intent == request["intent"] and q.language == request["language"]:
            return q
    return None
