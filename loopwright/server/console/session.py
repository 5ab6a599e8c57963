"""Console sign-in: an operator's or agent's key becomes a signed, expiring session cookie with a CSRF token.

    GET  /console/login    a form, and a signed pre-session cookie holding the form's CSRF token
    POST /console/login    key + token -> the key's principal; its role must be an operator's or an agent's
                           in the live policy (`[access]`): a customer's key is refused -> session cookie
    every page             cookie -> key id + token (signature and age checked) -> the key, if still active,
                           and its role, checked again against the live policy (a revoked key or a changed
                           policy takes effect on the next request)
    every POST             its form's `csrf` must equal the session's token, else 403 and nothing is written

The cookie holds the key's id, never the key, and is HttpOnly, SameSite=Strict and scoped to /console;
it is signed with a secret derived from the workspace's signing key (an Ed25519 signature is
deterministic), so every replica of one workspace accepts the others' sessions and no new secret file
is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from loopwright.errors import LoopwrightError
from loopwright.observe.traces import TraceView
from loopwright.serving.auth import PermissionDenied, principal_of_key
from loopwright.server.deps import gateway_of, live_policy

if TYPE_CHECKING:
    from fastapi import Response

    from loopwright.policy.principal import Principal
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

COOKIE = "lw_console"
PRE_COOKIE = "lw_console_login"
SESSION_TTL_S = 8 * 3600
"""A session lasts a working day; signing in again starts a new one (and a new CSRF token)."""
LOGIN_TTL_S = 600


class SignInRequired(LoopwrightError):
    """No session, an expired or tampered one, or its key was revoked: the console sends the browser to sign in."""


class CsrfRefused(PermissionDenied):
    """A write without the session's CSRF token."""


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in: the key's principal, what it may do, and the session's CSRF token."""

    principal: Principal
    operator: bool
    csrf: str
    view: TraceView

    @property
    def actor(self) -> str:
        """Who the receipts of this user's writes name."""
        return f"console:{self.principal.role}:{self.principal.subject or self.principal.key_id}"


def serializer(ws: Workspace, salt: str) -> URLSafeTimedSerializer:
    """Signs and checks the console's cookies (`salt`: console-login or console-session), with the workspace's secret."""
    secret = ws.signer.sign(hashlib.sha256(b"loopwright console session").hexdigest())
    return URLSafeTimedSerializer(secret, salt=salt)


def role_of(principal: Principal, policy: PolicySet) -> bool:
    """Whether the principal is an operator (True) or an agent (False); any other role may not enter."""
    access = policy.access
    if principal.role in access.operators:
        return True
    if principal.role in access.agents:
        return False
    raise PermissionDenied(
        f"a {principal.role!r} key cannot enter the console",
        hint="sign in with an operator's or an agent's key (policy: access.operators, access.agents)",
    )


def login_token(request: Request) -> tuple[str, str]:
    """A fresh CSRF token for the sign-in form, and the signed cookie value that vouches for it."""
    token = secrets.token_urlsafe(24)
    return token, serializer(gateway_of(request).ws, "console-login").dumps(token)


def sign_in(request: Request, key: str, token: str) -> tuple[ConsoleUser, str]:
    """Check the sign-in form (its CSRF token against the pre-session cookie, then the key and its role);
    the user and the session cookie's value."""
    ws = gateway_of(request).ws
    try:
        expected = serializer(ws, "console-login").loads(request.cookies.get(PRE_COOKIE, ""), max_age=LOGIN_TTL_S)
    except BadSignature:
        raise CsrfRefused("the sign-in form has expired or was not served here", hint="reload the sign-in page") from None
    if not token or not hmac.compare_digest(str(expected), token):
        raise CsrfRefused("the sign-in form's CSRF token is missing or wrong", hint="reload the sign-in page")
    principal = request.app.state.authenticator.authenticate(f"Bearer {key.strip()}")
    operator = role_of(principal, live_policy(request))
    csrf = secrets.token_urlsafe(32)
    cookie = serializer(ws, "console-session").dumps({"key": principal.key_id, "csrf": csrf})
    return ConsoleUser(principal, operator, csrf, TraceView.of(principal, live_policy(request))), cookie


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def current_user(request: Request) -> ConsoleUser:
    """The signed-in user (a dependency of every page); `SignInRequired` when there is none."""
    ws = gateway_of(request).ws
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise SignInRequired("sign in to use the console")
    try:
        data = serializer(ws, "console-session").loads(raw, max_age=SESSION_TTL_S)
    except BadSignature:  # expired (SignatureExpired is a BadSignature) or altered
        raise SignInRequired("the session has expired or is not valid; sign in again") from None
    principal = principal_of_key(ws, str(data.get("key", ""))) if isinstance(data, dict) else None
    if principal is None:
        raise SignInRequired("the session's key was revoked; sign in again")
    policy = live_policy(request)
    return ConsoleUser(principal, role_of(principal, policy), str(data.get("csrf", "")), TraceView.of(principal, policy))


async def checked_form(request: Request) -> dict[str, str]:
    """The POST's form fields, once its `csrf` field matches the session's token (a dependency of every write)."""
    user = current_user(request)
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not token or not hmac.compare_digest(token, user.csrf):
        raise CsrfRefused("this write has no valid CSRF token, so nothing was changed", hint="submit the form from a console page")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def require_operator(user: ConsoleUser) -> ConsoleUser:
    """The user, if an operator: releases, receipts and the advisor are theirs."""
    if not user.operator:
        raise PermissionDenied(f"a {user.principal.role!r} key may not use this page", hint="an operator's key can (policy: access.operators)")
    return user

