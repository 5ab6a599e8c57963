"""Confirmation tokens: a "yes" binds to the exact call the assistant asked about, never to a fresh classification.

When a call needs the customer's confirmation, the executor stores a pending
confirmation and returns a token with the question. The confirming call
sends the token back (`confirm_token`); the executor runs the stored call and
nothing else, after checking, in the write transaction that acts, that the
token:

- names this tool and these arguments (their digest),
- was issued to this caller (tenant, role, subject, key id) in this
  conversation (the request's `user`), for this customer,
- has not been used (single use: redeeming it marks it used) and has not
  expired (`[tools] confirmation_ttl_s`, 5 minutes by default).

Only the token's digest is stored, so a database reader cannot confirm anything.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from loopwright.digests import canonical_json, sha256_hex, utc_now
from loopwright.policy.principal import Principal
from loopwright.policy.verdicts import Verdict, failed, passed
from loopwright.tools.schema import ToolConfirmationRow

PREFIX = "lwc_"
RULE = "tools.confirmation"


def _digest(token: str) -> str:
    return sha256_hex(token.encode("utf-8"))


def caller_digest(principal: Principal) -> str:
    """Who a confirmation was issued to."""
    return sha256_hex(canonical_json({"tenant": principal.tenant, "role": principal.role,
                                      "subject": principal.subject, "key_id": principal.key_id}))


def conversation_digest(conversation: str | None) -> str:
    return sha256_hex((conversation or "").encode("utf-8"))


def issue(
    session: Session, *, tool: str, arguments: dict[str, Any], principal: Principal, customer: str | None,
    conversation: str | None, ttl_s: int,
) -> tuple[str, str]:
    """Store a pending confirmation of `tool(arguments)`; returns (token, expires_at)."""
    token = PREFIX + secrets.token_urlsafe(24)
    expires = (datetime.now(UTC) + timedelta(seconds=ttl_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    session.add(ToolConfirmationRow(
        token_digest=_digest(token), tool=tool, arguments=canonical_json(arguments),
        args_digest=sha256_hex(canonical_json(arguments)), tenant=principal.tenant, caller=caller_digest(principal),
        customer=customer, conversation=conversation_digest(conversation), created_at=utc_now(), expires_at=expires,
    ))
    return token, expires


def pending_call(session: Session, token: str) -> tuple[str, dict[str, Any]] | None:
    """The (tool, arguments) a token was issued for, or None; checks nothing else (the executor does)."""
    row = session.get(ToolConfirmationRow, _digest(token))
    if row is None or row.arguments is None:
        return None
    return row.tool, json.loads(row.arguments)


def redeem(
    session: Session, token: str, *, tool: str, arguments: dict[str, Any], principal: Principal, customer: str | None,
    conversation: str | None,
) -> Verdict:
    """Check `token` against this exact call and mark it used when it confirms it; the verdict says why not."""
    row = session.get(ToolConfirmationRow, _digest(token))
    if row is None:
        return failed("confirmation", RULE, "unknown confirmation token", "refuse")
    if row.caller != caller_digest(principal) or row.conversation != conversation_digest(conversation):
        # Not burnt: someone else's attempt must not spend the customer's confirmation.
        return failed("confirmation", RULE, "the confirmation was issued to another caller or conversation", "refuse")
    if row.tool != tool or row.args_digest != sha256_hex(canonical_json(arguments)) or row.customer != customer:
        return failed("confirmation", RULE, f"the confirmation is for another action ({row.tool.replace('_', ' ')})", "refuse")
    if row.used_at is not None:
        return failed("confirmation", RULE, "the confirmation was already used", "refuse")
    now = utc_now()
    if now >= row.expires_at:
        return failed("confirmation", RULE, "the confirmation expired; ask again", "refuse")
    row.used_at = now
    return passed("confirmation", RULE, f"the customer confirmed {tool.replace('_', ' ')} with these arguments")
