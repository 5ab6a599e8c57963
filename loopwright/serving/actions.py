"""The tools stage: an intent that needs an action calls its typed tool contract, and the trace records it.

The validator checks ownership, limits and confirmation before the executor
runs; the executor returns a receipt. The answer says what happened (done with
its ticket, awaiting confirmation, refused and why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopwright.serving.trace import ToolCall, ToolReceipt, VerdictRecord
from loopwright.tools.arguments import extract_arguments
from loopwright.tools.executor import execute_tool

if TYPE_CHECKING:
    from loopwright.serving.call import Call
    from loopwright.workspace import Workspace


def act(ws: Workspace, call: Call) -> str | None:
    """Run the intent's tool when the message names what it needs; the answer, or None to answer from documents."""
    tool, t = call.tool, call.trace
    if call.principal.subject is None:  # tools act for a customer; with none in context, answer from the documents
        t.tools.append(ToolCall(name=tool, status="skipped", reason="no customer in the caller's context"))
        return None
    arguments = extract_arguments(tool, call.question)
    if arguments is None:
        t.tools.append(ToolCall(name=tool, status="needs_arguments", reason="the message names no card or transaction"))
        return None
    result = execute_tool(ws, tool, arguments, call.principal, policy=call.policy,
                          idempotency_key=call.request.idempotency_key, confirmed=call.request.confirm,
                          dry_run=t.purpose == "golden")
    status = {"done": "executed", "refused": "blocked"}.get(result.status, result.status)
    if result.status == "refused" and result.refusal.action == "conflict":
        status = "conflict"  # permitted, but the card (say) is already in that state
    entry = ToolCall(name=tool, status=status, ticket=result.ticket, replayed=result.replayed,
                     verdicts=[VerdictRecord(**v.to_dict()) for v in result.verdicts])
    if result.receipt is not None:
        r = result.receipt
        entry.receipt = ToolReceipt(id=r.id, seq=r.seq, digest=r.digest, signature=r.signature, ticket=result.ticket)
    t.tools.append(entry)
    if result.status == "done":
        call.outcome = "accepted"  # the receipt proves the action happened
        return f"{result.output.get('message', 'Done.')} (ticket {result.ticket})"
    if result.status == "needs_confirmation":
        return f"Please confirm: {tool.replace('_', ' ')} with {_describe(arguments)}. Send the request again with confirm=true."
    if result.status == "dry_run":
        return f"{tool.replace('_', ' ')} would run with {_describe(arguments)} (evaluation: not executed)."
    refusal = result.refusal
    if status == "conflict":
        return f"Nothing to do: {refusal.reason}."
    t.fire(f"tool.{refusal.name}", refusal.rule, refusal.reason)
    return f"I can't do that: {refusal.reason}."


def _describe(arguments: dict[str, Any]) -> str:
    """Tool arguments as a person reads them (the free-text reason left out)."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in arguments.items() if k != "reason")
