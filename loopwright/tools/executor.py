"""Executing a tool: validate, check, act, and prove it, in one transaction.

    result = execute_tool(ws, "freeze_card", {"last4": "9662"}, principal,
                          idempotency_key="req-7f3a", confirmed=False)
    result.status    # done | refused | needs_confirmation
    result.verdicts  # every check, with its rule: what the trace records
    result.receipt   # the signed receipt (done, or replayed for a repeated key)

Order of checks, and why: malformed arguments raise `ToolArgumentsError`
before anything is read (no side effect, a typed error). Permissions (role,
scopes) come from the authenticated principal and the policy, never from the
arguments or from text, so a message or a retrieved document that suggests a
call cannot widen them. Ownership, rules and limits are read inside the same
write transaction that acts, so they cannot change between check and act.
A repeated idempotency key returns the first receipt and acts no more.

A call that needs the user's confirmation (its contract, the policy, or
customer's words that do not clearly ask for it, `words`) returns
`needs_confirmation` with a token (`loopwright.tools.confirmation`); the call
runs once that token comes back (`confirm_token`), bound to this tool, these
arguments, this caller and conversation. `confirmed=True` is for a person
choosing the tool and its arguments themselves (`loopwright tools run --confirm`).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from loopwright.digests import canonical_json, sha256_hex
from loopwright.errors import ConflictError, InvalidInput
from loopwright.policy.principal import Principal
from loopwright.policy.verdicts import Verdict, failed, passed
from loopwright.registry.payloads import ToolAction, ToolCall
from loopwright.registry.receipts import Receipt, append_receipt, get_receipt
from loopwright.tools import confirmation
from loopwright.tools.contract import ToolContext, ToolSpec, get_tool
from loopwright.tools.schema import ToolCallRow

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)

Status = Literal["done", "refused", "needs_confirmation", "dry_run"]


class ToolArgumentsError(InvalidInput):
    """A tool call's arguments do not match its input model; nothing was done."""

    def __init__(self, tool: str, errors: list[dict[str, Any]]):
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "(arguments)"
        super().__init__(
            f"tool {tool}: invalid argument {where}: {first['msg']}",
            hint=f"`loopwright tools list --json` shows {tool}'s input schema",
        )
        self.tool = tool
        self.errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call, as the gateway puts it on the trace and returns it to the client."""

    tool: str
    status: Status
    verdicts: tuple[Verdict, ...]
    ticket: str | None = None
    output: dict[str, Any] | None = None
    receipt: Receipt | None = None
    replayed: bool = False
    confirmation: dict[str, Any] | None = field(default=None)

    @property
    def refusal(self) -> Verdict | None:
        """The verdict that refused (or holds) the call, if any: the last failing one, as checks stop at it."""
        return next((v for v in reversed(self.verdicts) if not v.passed), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "status": self.status,
            "ticket": self.ticket,
            "output": self.output,
            "receipt": _receipt_summary(self.receipt) if self.receipt else None,
            "replayed": self.replayed,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "confirmation": self.confirmation,
        }


def _receipt_summary(receipt: Receipt) -> dict[str, Any]:
    return {
        "id": receipt.id,
        "seq": receipt.seq,
        "ts": receipt.ts,
        "action": receipt.action,
        "subject": receipt.subject,
        "digest": receipt.digest,
        "signature": receipt.signature,
        "key_id": receipt.key_id,
        "details": receipt.details,
    }


def parse_arguments(spec: ToolSpec, arguments: Mapping[str, Any] | str | bytes | None) -> BaseModel:
    """The arguments as the tool's input model; `ToolArgumentsError` for anything else."""
    if isinstance(arguments, (str, bytes)):
        try:
            arguments = json.loads(arguments or "{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ToolArgumentsError(spec.name, [{"loc": (), "msg": f"not JSON: {exc}", "type": "json_invalid"}]) from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise ToolArgumentsError(spec.name, [{"loc": (), "msg": "arguments must be a JSON object", "type": "dict_type"}])
    try:
        return spec.input.model_validate(dict(arguments))
    except ValidationError as exc:
        raise ToolArgumentsError(spec.name, exc.errors()) from None


def check_permission(spec: ToolSpec, principal: Principal, policy: PolicySet) -> list[Verdict]:
    """Role and scope checks: from the key and the policy only."""
    verdicts = []
    allowed = policy.role_tools(principal.role).tools
    if principal.role not in spec.roles:
        verdicts.append(failed("permission", f"tools.{spec.name}.roles",
                               f"role {principal.role!r} may never call {spec.name} (contract: {', '.join(sorted(spec.roles))})", "refuse"))
    elif spec.name not in allowed:
        verdicts.append(failed("permission", f"tools.roles.{principal.role}.tools",
                               f"the policy does not let role {principal.role!r} call {spec.name}", "refuse"))
    else:
        verdicts.append(passed("permission", f"tools.roles.{principal.role}.tools", f"role {principal.role!r} may call {spec.name}"))
    missing = sorted(spec.scopes - set(principal.scopes))
    if missing:
        verdicts.append(failed("scopes", f"tools.{spec.name}.scopes", f"the caller lacks scope(s) {', '.join(missing)}", "refuse"))
    return verdicts


def _key_digest(principal: Principal, tool: str, key: str) -> str:
    return sha256_hex(canonical_json({"tenant": principal.tenant, "subject": principal.subject, "tool": tool, "key": key}))


def _masked(value: Any) -> Any:
    """Arguments as the receipt keeps them: any personal data in a string masked by type."""
    from loopwright.policy.pii import PiiVault, mask_text

    if isinstance(value, str):
        return mask_text(value, None, PiiVault()).text if any(c.isdigit() or c == "@" for c in value) or len(value) > 20 else value
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def execute_tool(
    ws: Workspace,
    name: str,
    arguments: Mapping[str, Any] | str | bytes | None,
    principal: Principal,
    *,
    policy: PolicySet | None = None,
    idempotency_key: str | None = None,
    confirmed: bool = False,
    confirm_token: str | None = None,
    conversation: str | None = None,
    words: Verdict | None = None,
    origin: str = "assistant",
    today: date | None = None,
    dry_run: bool = False,
) -> ToolResult:
    """Validate and run tool `name` for `principal`; see the module docstring for the order of checks.

    `words` is the check of the customer's words against the action (`loopwright.tools.words`):
    recorded; failing with action `refuse` it refuses, with `confirm` the call waits for confirmation.
    `confirm_token` confirms the call it was issued for in `conversation` (and no other).
    `origin` records who proposed the call (`assistant`, `operator`); it grants nothing.
    `dry_run` runs every check and stops before acting (golden evaluations): status `dry_run`.
    Raises `NotFound` (unknown tool), `ToolArgumentsError` (malformed arguments) and
    `ConflictError` (an idempotency key reused with other arguments).
    """
    spec = get_tool(name)
    args = parse_arguments(spec, arguments)
    if policy is None:
        from loopwright.policy.loader import deployed_policy

        policy = deployed_policy(ws)
    verdicts = check_permission(spec, principal, policy)
    if words is not None:
        verdicts.append(words)
    if any(not v.passed and v.action != "confirm" for v in verdicts):
        return _refused(spec, verdicts)
    settings = spec.settings_in(policy)
    today = today or policy.tools.as_of or date.today()
    args_json = args.model_dump(mode="json")
    args_digest = sha256_hex(canonical_json(args_json))
    key = idempotency_key or (spec.idempotency(args) if spec.idempotency else None)
    key_digest = _key_digest(principal, name, key) if key else None

    with ws.write() as session:
        if key_digest:
            prior = session.scalars(
                sa.select(ToolCallRow).where(
                    ToolCallRow.tenant == principal.tenant, ToolCallRow.tool == name, ToolCallRow.key_digest == key_digest
                )
            ).first()
            if prior is not None:
                # A caller's own key reused for other arguments is a mistake to refuse. The tool's natural key
                # (`dispute:txn_0261`) names the action itself: asking again in other words (a customer
                # rephrasing, another reason) is the same action, and gets the first receipt.
                if prior.args_digest != args_digest and idempotency_key is not None:
                    raise ConflictError(
                        f"idempotency key already used for a different {name} call (ticket {prior.ticket})",
                        hint="use a new key for a new action",
                    )
                return _replay(session, spec, prior, verdicts)
        ctx = ToolContext(ws, session, principal, policy, settings, today, ticket=f"tk_{secrets.token_hex(6)}")
        if spec.owner is not None:
            owner = spec.owner(ctx, args)
            acts_for = policy.role_tools(principal.role).acts_for
            own = owner is not None and owner[0] == principal.subject
            if owner is None or not (own or owner[1] in acts_for):
                # One answer for "not yours" and "does not exist": a refusal must not confirm that
                # another customer's card or transaction exists.
                rule = f"tools.roles.{principal.role}.acts_for" if acts_for else "tools.ownership"
                verdicts.append(failed("ownership", rule, f"no such {_resource(spec)} belongs to the caller", "refuse"))
                return _refused(spec, verdicts)
            ctx.customer_id = owner[0]
            verdicts.append(passed("ownership", "tools.ownership",
                                   f"the {_resource(spec)} belongs to the {'caller' if own else 'customer acted for'}"))
        else:
            ctx.customer_id = principal.subject
        if confirm_token is not None:
            verdict = confirmation.redeem(session, confirm_token, tool=name, arguments=args_json, principal=principal,
                                          customer=ctx.customer_id, conversation=conversation)
            verdicts.append(verdict)
            if not verdict.passed:
                return _refused(spec, verdicts)
            confirmed = True
        for check in spec.preconditions:
            verdict = check(ctx, args)
            if verdict is None:
                continue
            verdicts.append(verdict)
            if not verdict.passed:
                return _refused(spec, verdicts)
        if dry_run:
            verdicts.append(passed("dry_run", "tools.dry_run", "every check passed; not executed (evaluation run)"))
            return ToolResult(name, "dry_run", tuple(verdicts))
        unclear = words is not None and not words.passed
        if (spec.confirm or name in policy.tools.confirm or unclear) and not confirmed:
            why = words.reason if unclear else f"{name} needs the user's explicit confirmation"
            verdicts.append(failed("confirmation", f"tools.{name}.confirm", why, "confirm"))
            token, expires = confirmation.issue(session, tool=name, arguments=args_json, principal=principal,
                                                customer=ctx.customer_id, conversation=conversation,
                                                ttl_s=policy.tools.confirmation_ttl_s)
            return ToolResult(name, "needs_confirmation", tuple(verdicts), confirmation={
                "tool": name, "action": spec.label, "arguments": _masked(args_json), "reason": why,
                "token": token, "expires_at": expires,
            })
        output = spec.output.model_validate(spec.run(ctx, args))
        output_json = output.model_dump(mode="json")
        caller = principal.to_dict()
        inputs = _masked(args_json)
        call = ToolCall(
            ticket=ctx.ticket,
            tool=name,
            caller=caller,
            customer=ctx.customer_id,
            inputs=inputs,
            result=output_json,
            origin=origin,
            verdicts=[v.to_dict() for v in verdicts],
        )
        receipt = append_receipt(
            session,
            ws,
            ToolAction(tool=name, before=ctx.before, after=ctx.after, details=call),
            subject=f"ticket/{ctx.ticket}",
            actor=f"tool:{principal.tenant}/{principal.role}",
        )
        session.add(
            ToolCallRow(
                ticket=ctx.ticket,
                tool=name,
                tenant=principal.tenant,
                subject=ctx.customer_id,
                caller=canonical_json(caller),
                origin=origin,
                key_digest=key_digest,
                args_digest=args_digest,
                inputs=canonical_json(inputs),
                output=canonical_json(output_json),
                status="done",
                receipt_seq=receipt.seq,
                created_at=receipt.ts,
            )
        )
    log.info("tool %s done: ticket %s, receipt %s", name, ctx.ticket, receipt.id)
    if spec.after_commit is not None:
        output_json = spec.after_commit(ws, principal, policy, output).model_dump(mode="json")
    return ToolResult(name, "done", tuple(verdicts), ctx.ticket, output_json, receipt)


def _resource(spec: ToolSpec) -> str:
    return spec.resource or "resource"


def _refused(spec: ToolSpec, verdicts: list[Verdict]) -> ToolResult:
    refusal = next(v for v in reversed(verdicts) if not v.passed)
    log.info("tool %s refused by %s (%s): %s", spec.name, refusal.name, refusal.rule, refusal.reason)
    return ToolResult(spec.name, "refused", tuple(verdicts))


def _replay(session, spec: ToolSpec, row: ToolCallRow, verdicts: list[Verdict]) -> ToolResult:
    receipt = get_receipt(session, str(row.receipt_seq))
    verdicts.append(passed("idempotency", "tools.idempotency", f"repeat of ticket {row.ticket}: nothing done again"))
    output = json.loads(row.output) if row.output is not None else None
    return ToolResult(spec.name, "done", tuple(verdicts), row.ticket, output, receipt, replayed=True)


def list_tool_calls(ws: Workspace, *, subject: str | None = None, tool: str | None = None) -> list[dict[str, Any]]:
    """Executed tool calls, oldest first (inputs masked; erased ones say so)."""
    query = sa.select(ToolCallRow).order_by(ToolCallRow.created_at)
    if subject:
        query = query.where(ToolCallRow.subject == subject)
    if tool:
        query = query.where(ToolCallRow.tool == tool)
    with ws.session() as s:
        return [tool_call_dict(r) for r in s.scalars(query)]


def tool_call_dict(row: ToolCallRow) -> dict[str, Any]:
    return {
        "ticket": row.ticket,
        "tool": row.tool,
        "tenant": row.tenant,
        "subject": row.subject,
        "caller": json.loads(row.caller),
        "origin": row.origin,
        "status": row.status,
        "inputs": json.loads(row.inputs) if row.inputs is not None else None,
        "output": json.loads(row.output) if row.output is not None else None,
        "receipt_seq": row.receipt_seq,
        "created_at": row.created_at,
        "erased_at": row.erased_at,
    }
