"""Conversations: the calls one customer makes about one problem, grouped by the id each call carries.

A caller names the conversation with an `X-Conversation-Id` header or
`metadata.conversation_id` (an OpenAI-compatible extension); a call without one
starts a new conversation under a generated id, returned in the response's
`loopwright.conversation_id` so the next turn can send it back.

A conversation is owned by whoever opened it: the key's customer (its subject),
else the key. Its identity is (tenant, owner, id), so another customer who
sends the same id starts a conversation of their own: they never see or join
this one, and traces stay visible only by the policy's `[access]` rules.

    conversations = group(traces)                      # by (tenant, owner, id), turns in time order
    judged = resolve(conversations, policy.outcomes)   # hand-off, repeat contact, first valid turn, FCR

Why here and not in `observe/`: the canary analysis (`loopwright.release.analysis`)
judges a release by first-contact resolution, and the release plane sits below
observe; the aggregate metrics with their intervals are `loopwright.observe.outcomes`.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from loopwright.errors import InvalidInput
from loopwright.serving.trace import Trace

if TYPE_CHECKING:
    from loopwright.policy.schema import OutcomeRules

MAX_ID_CHARS = 64
CONVERSATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
"""The pattern a conversation id matches (the OpenAPI schema declares it too)."""
_ID = re.compile(CONVERSATION_ID)
DAY_S = 86_400.0

Clock = Callable[[Trace], float]
"""When a turn happened, in seconds: the trace's own time by default; a simulation passes its calendar."""


class InvalidConversationId(InvalidInput):
    """A conversation id that is too long or holds characters outside its charset."""

    code = "invalid_conversation_id"
    param = "conversation_id"


def check_conversation_id(value: str | None) -> str | None:
    """`value` when it is a valid conversation id (or None); otherwise `InvalidConversationId` naming the problem.

    Ids are 1 to 64 characters of letters, digits and `. _ : -`, starting with a letter or digit: they are stored
    as a query column and echoed back, so nothing that could carry personal data in free form (spaces, `@`) fits.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidConversationId("conversation_id must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InvalidConversationId(f"conversation_id is longer than {MAX_ID_CHARS} characters",
                                    hint="send the id the first response returned (loopwright.conversation_id)")
    if not _ID.match(value):
        raise InvalidConversationId("conversation_id may hold only letters, digits and . _ : - (starting with a letter or digit)",
                                    hint="send the id the first response returned (loopwright.conversation_id)")
    return value


def new_conversation_id() -> str:
    """A fresh id: conv_ + 24 hex digits."""
    return "conv_" + uuid.uuid4().hex[:24]


def owner_of(trace: Trace) -> str:
    """Who owns the trace's conversation: the customer it acted for, else the calling key."""
    return trace.principal.subject or trace.principal.key_id or "-"


def conversation_key(trace: Trace) -> tuple[str, str, str]:
    """The conversation a trace belongs to: (tenant, owner, id); a trace written before conversations existed is
    one of its own."""
    return (trace.principal.tenant, owner_of(trace), trace.conversation or trace.id)


def trace_time(trace: Trace) -> float:
    """The trace's start, as epoch seconds."""
    return datetime.fromisoformat(trace.ts.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Conversation:
    """One conversation's turns, oldest first. `customer` is set when the owner is a customer (a subject)."""

    tenant: str
    owner: str
    id: str
    customer: str | None
    turns: tuple[Trace, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.owner, self.id)

    @property
    def first(self) -> Trace:
        return self.turns[0]

    @property
    def intent(self) -> str:
        """What the conversation is about: its first turn's intent."""
        return self.first.intent or "unknown"

    @property
    def language(self) -> str:
        return self.first.language or "unknown"

    @property
    def channel(self) -> str:
        return self.first.channel

    def release(self, slots: Iterable[str] | None = None) -> str:
        """The versions that served its first turn, as `slot=kind/name@N` pairs (`slots`: only those)."""
        bundle = self.first.bundle
        names = sorted(bundle) if slots is None else [s for s in slots if s in bundle]
        return ", ".join(f"{slot}={bundle[slot].ref}" for slot in names) or "none"


def group(traces: Iterable[Trace | dict], *, clock: Clock = trace_time) -> list[Conversation]:
    """Served calls (golden runs and errors left out) grouped into conversations, each in time order, the list by
    first turn. A trace written before conversations existed is a conversation of its own."""
    turns: dict[tuple[str, str, str], list[Trace]] = defaultdict(list)
    for t in traces:
        t = Trace.from_dict(t)
        if t.purpose != "serve" or t.outcome == "error":
            continue
        turns[conversation_key(t)].append(t)
    out = []
    for (tenant, owner, cid), ts in turns.items():
        ts.sort(key=lambda t: (clock(t), t.ts, t.id))
        out.append(Conversation(tenant, owner, cid, ts[0].principal.subject, tuple(ts)))
    out.sort(key=lambda c: (clock(c.first), c.first.id))
    return out


@dataclass(frozen=True)
class Resolution:
    """What became of one conversation, under the policy's `[outcomes]` rules."""

    conversation: Conversation
    handoff: bool  # a turn called a hand-off tool
    repeated: bool  # the customer came back on the same intent within the repeat window
    valid_turn: int | None  # 1-based turn of the first accepted answer or valid action; None: never reached
    valid_seconds: float | None  # from the first message until that turn's answer was delivered
    accepted_answers: int  # turns with an accepted answer
    valid_actions: int  # turns with a valid action receipt
    action: bool  # some turn asked for an action (a tool other than a hand-off)
    cost: float  # USD, every turn
    resolved: bool  # first-contact resolution: no hand-off, no repeat, and (if the policy asks) a valid turn


def _valid_action(trace: Trace, rules: OutcomeRules) -> bool:
    return any(call.status in rules.valid_statuses and call.receipt is not None and call.name not in rules.handoff_tools
               for call in trace.tools)


def resolve(conversations: list[Conversation], rules: OutcomeRules, *, clock: Clock = trace_time) -> list[Resolution]:
    """Judge each conversation: hand-off, repeat contact (a later conversation of the same customer, same intent,
    starting within `repeat_window_days` of this one's last turn), first valid turn, and first-contact resolution.

    A caller known only by its key (no customer) cannot be told apart from others sharing the key, so its
    conversations are never counted as repeats.
    """
    by_customer: dict[tuple[str, str], list[Conversation]] = defaultdict(list)
    for c in conversations:
        if c.customer is not None:
            by_customer[(c.tenant, c.customer)].append(c)
    window = rules.repeat_window_days * DAY_S
    out = []
    for c in conversations:
        end = clock(c.turns[-1])
        later = by_customer.get((c.tenant, c.customer), []) if c.customer is not None else []
        repeated = any(d is not c and d.intent == c.intent and 0 <= clock(d.first) - end <= window and clock(d.first) > clock(c.first)
                       for d in later)
        handoff = any(call.name in rules.handoff_tools for t in c.turns for call in t.tools)
        valid_turn = valid_seconds = None
        accepted = actions = 0
        for i, t in enumerate(c.turns, 1):
            answer_ok, action_ok = t.outcome in rules.accepted_outcomes, _valid_action(t, rules)
            accepted += answer_ok
            actions += action_ok
            if valid_turn is None and (answer_ok or action_ok):
                # until the valid answer was delivered: the turn's start plus its own latency
                valid_turn, valid_seconds = i, max(0.0, clock(t) - clock(c.first)) + (t.latency_ms or 0.0) / 1e3
        action = any(call.name not in rules.handoff_tools for t in c.turns for call in t.tools)
        resolved = not handoff and not repeated and (valid_turn is not None or not rules.require_valid)
        out.append(Resolution(c, handoff, repeated, valid_turn, valid_seconds, accepted, actions, action,
                              float(sum(t.cost or 0.0 for t in c.turns)), resolved))
    return out
