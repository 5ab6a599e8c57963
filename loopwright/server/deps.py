"""Request dependencies: the caller's principal, the app's gateway, and what the caller may see."""

from __future__ import annotations

import time

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from loopwright.errors import LoopwrightError
from loopwright.observe.traces import TraceView
from loopwright.policy.principal import Principal
from loopwright.policy.schema import PolicySet
from loopwright.serving.auth import PermissionDenied
from loopwright.serving.bundle import stable_bundle
from loopwright.serving.pipeline import Gateway

# Declares the bearer scheme in the OpenAPI schema; the header itself is checked by the Authenticator,
# so a missing or malformed one is a 401 in OpenAI's shape (auto_error would answer 403 in FastAPI's).
bearer = HTTPBearer(auto_error=False, scheme_name="apiKey", description="An API key from `loopwright keys create`.")


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


async def authenticate(request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    """Resolve the bearer key (401 in OpenAI's shape when missing or wrong); time it for the trace. A key
    seen within the cache's TTL resolves here on the event loop; any other asks the store, in a thread."""
    t0 = time.perf_counter()
    authenticator, header = request.app.state.authenticator, request.headers.get("authorization")
    principal = authenticator.cached(header)
    if principal is None:
        principal = await anyio.to_thread.run_sync(authenticator.authenticate, header)
    request.state.auth_ms = (time.perf_counter() - t0) * 1e3
    return principal


def live_policy(request: Request) -> PolicySet:
    """The policy on the stable channel; its defaults when none is deployed (a bare passthrough gateway)."""
    gateway = gateway_of(request)
    try:
        return gateway.policy(stable_bundle(gateway.watcher.current))
    except LoopwrightError:
        return PolicySet()


def trace_view(request: Request, principal: Principal = Depends(authenticate)) -> TraceView:
    """The traces this caller may read and grade (see `AccessRules`)."""
    return TraceView.of(principal, live_policy(request))


def operator(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
    """The caller, if its role is an operator's in the live policy; else 403."""
    if principal.role not in live_policy(request).access.operators:
        raise PermissionDenied(f"role {principal.role!r} may not read this", hint="an operator's key can (policy: access.operators)")
    return principal
