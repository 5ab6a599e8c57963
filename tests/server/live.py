"""Helpers for driving a running gateway: a caller (`Live`), clients carrying a key, and the error-shape check."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import openai
from upstream import ThreadedServer

from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank import DATA_DIR
from loopwright.workspace import Workspace

MODEL = "larkspur-assistant"


@dataclass
class Live:
    """A running gateway and a caller: `client` is the official openai client, `http` raw httpx."""

    ws: Workspace
    server: ThreadedServer
    key: str
    client: openai.OpenAI
    http: httpx.Client

    @property
    def gateway(self):
        return self.server.app.state.gateway

    def ask(self, question: str, **kwargs):
        return self.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}], **kwargs)

    def trace(self, trace_id: str) -> dict:
        response = self.http.get(f"/v1/traces/{trace_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def as_key(self, key: str) -> Live:
        """The same server, called with another key."""
        return Live(self.ws, self.server, key, openai_client(self.server, key), http_client(self.server, key))


def openai_client(server: ThreadedServer, key: str) -> openai.OpenAI:
    # No client-side retries: every status the server sends is the one the test sees.
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)


def http_client(server: ThreadedServer, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def lw(response) -> dict:
    """The `loopwright` object of an openai-client response or chunk."""
    return response.model_extra["loopwright"]


def assert_openai_error(response: httpx.Response, status: int, *, type_: str | None = None, code: str | None = None) -> dict:
    """`response` has `status` and OpenAI's error body, exactly: {"error": {"message", "type", "param", "code"}}."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert "Traceback" not in error["message"]
    assert isinstance(error["type"], str) and error["type"]
    if type_ is not None:
        assert error["type"] == type_, error
    if code is not None:
        assert error["code"] == code, error
    return error


def wait_for_version(live, version: int, timeout: float = 10.0) -> None:
    """Until the server's watcher reports `version` (it polls; no restart, no call into the server's objects)."""
    deadline = time.monotonic() + timeout
    while live.http.get("/healthz").json()["deployment_version"] != version:
        assert time.monotonic() < deadline, f"the server never saw deployment version {version}"
        time.sleep(0.02)


def deploy_passthrough(ws, base_url: str, *, timeout_s: float = 5, max_retries: int = 2) -> None:
    """Put a passthrough router live: model `upstream-model` forwarded to the OpenAI-compatible `base_url`."""
    router = f"""
mode = "passthrough"

[tiers.upstream-model]
backend = "openai"
price = "large"
options = {{ base_url = "{base_url}", timeout_s = {timeout_s}, max_retries = {max_retries} }}
"""
    ref = artifacts.register(
        ws, "router", "passthrough", {"router.toml": router.encode(), "prices.json": (DATA_DIR / "prices.json").read_bytes()}
    ).ref
    set_stable(ws, "router", ref, reason="passthrough to the test upstream")
    if get_deployment(ws).stable("policy") is None:  # input and output policy still apply in passthrough
        policy = artifacts.register(ws, "policy", "bank", {"policy.toml": (DATA_DIR.parent / "config" / "policy.toml").read_bytes()})
        set_stable(ws, "policy", policy.ref)
