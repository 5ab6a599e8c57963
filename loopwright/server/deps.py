"""Request dependencies: the caller's principal, and the app's gateway."""

from __future__ import annotations

import time

from fastapi import Request

from loopwright.policy.principal import Principal
from loopwright.serving.pipeline import Gateway


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


def authenticate(request: Request) -> Principal:
    """Resolve the bearer key (401 in OpenAI's shape when missing or wrong); time it for the trace."""
    t0 = time.perf_counter()
    principal = request.app.state.authenticator.authenticate(request.headers.get("authorization"))
    request.state.auth_ms = (time.perf_counter() - t0) * 1e3
    return principal
