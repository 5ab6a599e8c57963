"""Verdicts: what a validator decided, with the rule that fired and why.

Every check loopwright makes on a call (an output validator, a tool
precondition, a permission) answers with one `Verdict`, so the trace records
all of them in one shape and an auditor can replay the decision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# `conflict`: a tool call that is permitted but finds its resource already in the asked-for state.
Action = Literal["allow", "decline", "escalate", "fallback", "summarize", "refuse", "confirm", "conflict"]
"""What the caller of a validator does with a verdict:

- `allow`: nothing; the check passed.
- `decline`: answer with a refusal instead of the candidate answer.
- `escalate`: hand the turn to the large tier or a person.
- `fallback`: answer from the router's fallback tier instead (decline if that answer fails too).
- `summarize`: replace verbatim text from sources above the caller's ceiling by a summary.
- `refuse`: a tool call is not executed.
- `confirm`: a tool call waits for the user's explicit confirmation.
"""


@dataclass(frozen=True)
class Verdict:
    """One validator's decision: `rule` names the policy rule that fired (or was checked)."""

    name: str
    passed: bool
    rule: str
    reason: str
    action: Action = "allow"
    claims: tuple[str, ...] = ()  # what a failed grounding check found unsupported ("amount '$25'")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.claims:
            del out["claims"]
        else:
            out["claims"] = list(self.claims)
        return out


def passed(name: str, rule: str, reason: str = "ok") -> Verdict:
    """A passing verdict."""
    return Verdict(name, True, rule, reason, "allow")


def failed(name: str, rule: str, reason: str, action: Action) -> Verdict:
    """A failing verdict and what to do about it."""
    return Verdict(name, False, rule, reason, action)
