"""The tools stage: an intent that needs an action calls its typed tool contract, and the trace records it.

The validator checks ownership, limits and confirmation before the executor
runs; the executor returns a receipt. The answer says what happened (done with
its ticket, awaiting confirmation, refused and why).

Where the tier's backend makes tool calls (`hf`, `openai`), the contract is
offered to it as a function and the call's arguments come from the model (a
forced call: constrained decoding on `hf`); they are validated against the
contract's input model before anything runs, and arguments that fail it are
set aside for the words' own (`loopwright.tools.arguments`), which pass the
same validators. The trace's tool entry says which were used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopwright.serving.backends import Backend, BackendError, GenerationRequest
from loopwright.serving.tool_calls import FunctionTool, Steering, ToolChoice
from loopwright.serving.trace import ToolCall, ToolReceipt, VerdictRecord
from loopwright.tools.contract import get_tool
from loopwright.tools.executor import ToolArgumentsError, parse_arguments
from loopwright.tools.proposals import confirm, describe, propose

if TYPE_CHECKING:
    from loopwright.serving.call import Call
    from loopwright.workspace import Workspace


def model_arguments(call: Call, backend: Backend) -> tuple[dict[str, Any] | None, str | None]:
    """The tool's arguments from the tier's model, as a forced call of the contract; (arguments, None) when they
    pass the contract's input model, else (None, why)."""
    spec = get_tool(call.tool)
    offered = FunctionTool(spec.name, spec.description, spec.input.model_json_schema())
    request = GenerationRequest(question=call.question, messages=call.messages, evidence=[], prompt=None,
                                model=call.request.model, artifacts=call.bundle.artifacts,
                                steering=Steering(tools=(offered,), tool_choice=ToolChoice("function", spec.name)))
    try:
        made = backend.generate(request).tool_calls
    except BackendError as exc:  # the words' arguments still serve
        return None, f"the model's tool call failed: {exc.message}"
    if not made:
        return None, "the model made no tool call"
    try:
        return parse_arguments(spec, made[0].arguments).model_dump(mode="json", exclude_none=True), None
    except ToolArgumentsError as exc:
        return None, f"the model's arguments fail the contract: {exc.message}"


def act(ws: Workspace, call: Call, backend: Backend | None = None) -> str | None:
    """Run the intent's tool (or, with a confirm token, the call it confirms) when the message names what it
    needs; the answer, or None to answer from the documents. The customer's words, not the classifier alone,
    decide whether a call runs without asking (`loopwright.tools.proposals`). With a `backend` that makes tool
    calls, the arguments are the model's where they pass the contract."""
    tool, t, request = call.tool, call.trace, call.request
    if call.principal.subject is None and not request.confirm_token:  # tools act for a customer; with none, answer from the documents
        t.tools.append(ToolCall(name=tool, status="skipped", reason="no customer in the caller's context"))
        return None
    given, why, asked = None, None, False
    if request.confirm_token:
        proposal = confirm(ws, request.confirm_token, call.principal, policy=call.policy, conversation=request.user,
                           idempotency_key=request.idempotency_key)
    else:
        asked = backend is not None and "tools" in backend.supports
        given, why = model_arguments(call, backend) if asked else (None, None)
        proposal = propose(ws, tool, call.question, call.principal, policy=call.policy, conversation=request.user,
                           idempotency_key=request.idempotency_key, dry_run=t.purpose == "golden", arguments=given)
    # Where the model was asked: whose arguments ran, and why the model's were set aside.
    origin = {"arguments_from": "model" if given is not None else "words", **({"reason": why} if why else {})} if asked else {}
    result, arguments = proposal.result, proposal.arguments
    if result is None:
        t.tools.append(ToolCall(name=proposal.tool, status="needs_arguments",
                                **{"reason": "the message names no card or transaction", **origin}))
        return None
    status = {"done": "executed", "refused": "blocked"}.get(result.status, result.status)
    if result.status == "refused" and result.refusal.action == "conflict":
        status = "conflict"  # permitted, but the card (say) is already in that state
    entry = ToolCall(name=result.tool, status=status, ticket=result.ticket, replayed=result.replayed,
                     verdicts=[VerdictRecord(**v.to_dict()) for v in result.verdicts], **origin)
    if result.receipt is not None:
        r = result.receipt
        entry.receipt = ToolReceipt(id=r.id, seq=r.seq, digest=r.digest, signature=r.signature, ticket=result.ticket)
    if result.confirmation is not None:
        entry.confirmation = {k: v for k, v in result.confirmation.items() if k != "token"}  # the store never holds it
        call.confirmation = result.confirmation
    t.tools.append(entry)
    if result.status == "done":
        call.outcome = "accepted"  # the receipt proves the action happened
        call.action_output = result.output  # for the response only: it may hold a download link, never stored
        if result.output.get("erased_subject"):  # this call erased its own caller: its trace must not name them
            _pseudonymise(ws, call, result.output["erased_subject"])
        return f"{result.output.get('message', 'Done.')} (ticket {result.ticket})"
    if result.status == "needs_confirmation":
        # The token travels in the response's `loopwright.confirmation`, never in the text (which is stored).
        return (f"Please confirm: do you want me to {describe(result.tool, arguments)}? Nothing is done until you "
                f"confirm (until {result.confirmation['expires_at']}).")
    if result.status == "dry_run":
        return f"{describe(result.tool, arguments)} would run (evaluation: not executed)."
    refusal = result.refusal
    if status == "conflict":
        return f"Nothing to do: {refusal.reason}."
    t.fire(f"tool.{refusal.name}", refusal.rule, refusal.reason)
    return f"I can't do that: {refusal.reason}."


def _pseudonymise(ws: Workspace, call: Call, subject: str) -> None:
    """The call's trace as an erase leaves the subject's earlier ones: their pseudonym, no key id."""
    from loopwright.policy.subjects import pseudonym

    t = call.trace
    t.principal = t.principal.model_copy(update={"subject": pseudonym(ws, subject), "key_id": ""})
