"""A tool call proposed by a customer's message, for tiers that do not emit tool calls themselves.

    proposal = propose(ws, "unfreeze_card", "freeze card ending 5212", principal, policy=policy, conversation="c-1")
    proposal.tool                 # "freeze_card": the words ask for the opposite of what triage said
    proposal.result.status        # "needs_confirmation": never on the classifier's word alone
    proposal.result.confirmation  # {"action": "freeze card", "token": "lwc_...", ...}
    confirm(ws, token, principal, policy=policy, conversation="c-1")   # runs exactly that call, once

The classifier picks the tool; the customer's words decide whether it may run
without asking (`loopwright.tools.words`): when they name the opposite
action, the opposite is proposed instead, and in every case but a clear ask
the customer is asked to confirm the named action. A confirmation runs the
call its token was issued for, whatever the confirming message says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loopwright.errors import NotFound
from loopwright.policy.principal import Principal
from loopwright.policy.verdicts import failed
from loopwright.tools import confirmation
from loopwright.tools.arguments import extract_arguments
from loopwright.tools.contract import get_tool, registered_tools
from loopwright.tools.executor import ToolResult, execute_tool
from loopwright.tools.words import check_words

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace


@dataclass(frozen=True)
class Proposal:
    """The call a message led to: its tool, the arguments found, and the executor's result (None: no arguments)."""

    tool: str
    arguments: dict[str, Any] | None
    result: ToolResult | None


def propose(
    ws: Workspace, tool: str, text: str, principal: Principal, *, policy: PolicySet, conversation: str | None,
    idempotency_key: str | None = None, dry_run: bool = False, arguments: dict[str, Any] | None = None,
) -> Proposal:
    """Check `text` against `tool`'s action words, find its arguments (or take `arguments`, a model's tool call
    already checked against the contract), and run or hold the call."""
    spec = get_tool(tool)
    opposite = registered_tools().get(spec.opposite) if spec.opposite else None
    check = check_words(spec, text, opposite)
    words = check.verdict() if check else None
    if check is not None and check.reading == "contradicted":
        if opposite is None:  # the opposite is no tool here ("cancel my dispute"): nothing to propose
            words = failed("action_words", words.rule, words.reason, "refuse")
        else:  # the words ask for the opposite tool: propose that one, and only with the customer's yes
            spec = opposite
            words = failed("action_words", f"tools.{spec.name}.words",
                           f"triage said {tool.replace('_', ' ')}, the customer's words ask to {spec.label}", "confirm")
    if arguments is None:
        arguments = extract_arguments(spec.name, text)
    if arguments is None:
        return Proposal(spec.name, None, None)
    result = execute_tool(ws, spec.name, arguments, principal, policy=policy, idempotency_key=idempotency_key,
                          conversation=conversation, words=words, dry_run=dry_run)
    return Proposal(spec.name, arguments, result)


def confirm(
    ws: Workspace, token: str, principal: Principal, *, policy: PolicySet, conversation: str | None,
    idempotency_key: str | None = None,
) -> Proposal:
    """Run the call `token` was issued for; a refused result when the token confirms nothing for this caller."""
    with ws.session() as s:
        call = confirmation.pending_call(s, token)
    if call is None:
        refusal = failed("confirmation", confirmation.RULE, "unknown confirmation token", "refuse")
        return Proposal("confirmation", None, ToolResult("confirmation", "refused", (refusal,)))
    tool, arguments = call
    try:
        get_tool(tool)
    except NotFound:
        refusal = failed("confirmation", confirmation.RULE, f"the confirmed tool {tool!r} is no longer registered", "refuse")
        return Proposal(tool, arguments, ToolResult(tool, "refused", (refusal,)))
    result = execute_tool(ws, tool, arguments, principal, policy=policy, idempotency_key=idempotency_key,
                          confirm_token=token, conversation=conversation)
    return Proposal(tool, arguments, result)


def describe(tool: str, arguments: dict[str, Any] | None) -> str:
    """A call as a person reads it: `freeze card (last4 5212)` (unset and free-text arguments left out)."""
    args = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (arguments or {}).items() if k != "reason" and v is not None)
    return f"{tool.replace('_', ' ')} ({args})" if args else tool.replace("_", " ")
