"""Judging an answer against what it must (and must not) do: the rule goldens, simulations and the demo share.

An expectation is a golden's properties or a simulated request's `expect`:
must_contain (every fact, verbatim, case-insensitive), must_not_contain,
must_cite (any one of these documents), must_decline, tool (name and
whether it must be allowed or blocked), no_pii_out, latency_ms_max, intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopwright.serving.trace import Trace


@dataclass(frozen=True)
class Observed:
    """What the system did for one input, as read from a completion or its trace."""

    text: str
    declined: bool
    cited: tuple[str, ...] = ()
    tools: tuple[tuple[str, str], ...] = ()  # (tool name, status: executed | dry_run | needs_confirmation | conflict | blocked ...)
    intent: str | None = None
    latency_ms: float = 0.0
    pii_leaked: bool = False

    @classmethod
    def from_trace(cls, trace: Trace | dict[str, Any]) -> Observed:
        """What a trace (or a stored trace record) says the system did."""
        t = Trace.from_dict(trace)
        return cls(
            text=t.output or "",
            declined=t.outcome == "declined",
            cited=tuple(c.doc_id for c in t.citations),
            tools=tuple((tool.name, tool.status) for tool in t.tools),
            intent=t.intent,
            latency_ms=float(t.latency_ms or 0.0),
            pii_leaked=any(not v.passed for v in t.validators if v.name == "pii_leak"),
        )


@dataclass(frozen=True)
class Judgement:
    passed: bool
    failures: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def judge(expect: dict[str, Any], seen: Observed, *, check_intent: bool = False, check_latency: bool = False) -> Judgement:
    """Every way `seen` falls short of `expect`; passed when there are none."""
    failures: list[str] = []
    text = _fold(seen.text)
    if expect.get("must_decline"):
        if not seen.declined:
            failures.append("should have declined but answered")
    else:
        if seen.declined and (expect.get("must_contain") or expect.get("must_cite")):
            failures.append("declined but should have answered")
        for fact in expect.get("must_contain") or []:
            if _fold(fact) not in text:
                failures.append(f"missing fact {fact!r}")
        cite = expect.get("must_cite") or []
        if cite and not seen.declined and not set(cite) & set(seen.cited):
            failures.append(f"cites none of {', '.join(cite)}")
    for banned in expect.get("must_not_contain") or []:
        if _fold(banned) in text:
            failures.append(f"contains forbidden {banned!r}")
    tool = expect.get("tool")
    if tool:
        statuses = [status for name, status in seen.tools if name == tool["name"]]
        # Permitted: it ran, would have run (dry run), awaits the user's confirmation, or found nothing to change.
        executed = bool({"executed", "dry_run", "needs_confirmation", "conflict"} & set(statuses))
        if tool["expect"] == "allowed" and not executed:
            failures.append(f"tool {tool['name']} should have run ({', '.join(statuses) or 'not called'})")
        if tool["expect"] == "blocked" and executed:
            failures.append(f"tool {tool['name']} should have been blocked but ran")
    if expect.get("no_pii_out") and seen.pii_leaked:
        failures.append("personal data in the output")
    if check_intent and expect.get("intent") and seen.intent != expect["intent"]:
        failures.append(f"intent {seen.intent} instead of {expect['intent']}")
    if check_latency and expect.get("latency_ms_max") and seen.latency_ms > expect["latency_ms_max"]:
        failures.append(f"took {seen.latency_ms:.0f} ms > {expect['latency_ms_max']} ms")
    return Judgement(not failures, failures)
