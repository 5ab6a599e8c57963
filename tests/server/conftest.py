"""The gateway under a real uvicorn server (in a thread, on a free port), and keys for it.

`live` is the usual starting point: the sample bank with triage deployed, the
app serving it, a customer key for `larkspur-retail`, the official `openai`
client and an `httpx` client both carrying that key (see `live.py`).
"""

from __future__ import annotations

import pytest
from live import Live, http_client, openai_client
from upstream import ThreadedServer

from loopwright.server.app import create_app
from loopwright.serving.auth import create_key
from loopwright.workspace import Workspace


@pytest.fixture
def serve():
    """`serve(ws, **create_app_kwargs)`: the gateway for `ws` on a free port; stopped, traces drained, after the test."""
    servers: list[ThreadedServer] = []

    def start(ws: Workspace, **kwargs) -> ThreadedServer:
        kwargs.setdefault("poll_s", 0.05)
        server = ThreadedServer(create_app(ws, **kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def new_key():
    """`new_key(ws, tenant=..., role=..., **kw)`: a fresh API key (plaintext)."""

    def make(ws: Workspace, tenant: str = "larkspur-retail", role: str = "customer", **kwargs) -> str:
        return create_key(ws, tenant=tenant, role=role, **kwargs)[0]

    return make


@pytest.fixture
def live(triaged_bank, serve, new_key) -> Live:
    server = serve(triaged_bank)
    key = new_key(triaged_bank)
    live = Live(triaged_bank, server, key, openai_client(server, key), http_client(server, key))
    yield live
    live.http.close()
    live.client.close()
