"""The FastAPI app: `create_app(ws)` wires the gateway, the routes and the error shape.

Two guards sit in front of everything: request bodies over `max_body_bytes`
get a 413, and more than `max_in_flight` concurrent chat calls get a 429, so
a flood is refused quickly instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from datetime import date
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from loopwright import __version__
from loopwright.observe.slo import check_alerts
from loopwright.release.controller import ReleaseController
from loopwright.server import admin, console, errors, privacy
from loopwright.server.openai import routes
from loopwright.serving.auth import Authenticator
from loopwright.serving.pipeline import Gateway
from loopwright.workspace import Workspace

if TYPE_CHECKING:
    from loopwright.observe.otel import SpanExport

log = logging.getLogger(__name__)


def create_app(
    ws: Workspace,
    *,
    as_of: date | None = None,
    max_in_flight: int = 256,
    max_body_bytes: int = 1_000_000,
    poll_s: float = 0.2,
    warm: bool = False,
    release_interval_s: float = 0.0,
) -> FastAPI:
    """An app serving `ws`. The gateway starts with the app and drains its traces when it stops.

    `release_interval_s` > 0 runs the release controller (canary analysis, automatic promotion and
    rollback) in this process, taking turns with other replicas through a store lease.

    `warm` (what `loopwright serve` does): load what the live deployment needs before the first
    request, then move every object alive at that point out of the garbage collector's reach
    (`gc.freeze`). A full collection otherwise walks every imported module's objects: measured
    at 100-280 ms pauses, which were the pass-through p99.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.gateway = Gateway(ws, as_of=as_of, poll_s=poll_s)
        app.state.gateway.watcher.duties.append(app.state.authenticator.check_revocations)
        if warm:
            app.state.gateway.warm_up()
            gc.collect()
            gc.freeze()
        export = _span_export(ws, app.state.gateway)
        controller = (
            ReleaseController(ws, interval_s=release_interval_s, duties=[lambda: check_alerts(ws)]).start()
            if release_interval_s > 0 else None
        )
        try:
            yield
        finally:
            if controller is not None:
                controller.stop()
            app.state.gateway.close()
            if export is not None:
                export.close()

    app = FastAPI(
        title="loopwright gateway",
        version=__version__,
        description="An OpenAI-compatible gateway that routes, caches, answers from certified evidence and traces every call.",
        lifespan=lifespan,
    )
    app.state.authenticator = Authenticator(ws)
    app.openapi = lambda: errors.openapi_without_422(app)
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(admin.router)
    app.include_router(privacy.router)
    console.install(app)  # after errors.install: its error pages wrap the API's handlers for /console paths only
    app.add_middleware(_Guard, max_in_flight=max_in_flight, max_body_bytes=max_body_bytes)
    app.add_middleware(_Contain)
    return app


def app_from_environment() -> FastAPI:
    """What each `loopwright serve --workers N` process serves: the workspace `LOOPWRIGHT_WORKSPACE` names, as
    `serve` itself would serve it. Every worker loads its own models and indexes, watches the deployment and
    drains its own traces on SIGTERM; the store (SQLite WAL or PostgreSQL) serialises their writes."""
    from loopwright.workspace import find_workspace

    ws = find_workspace(None)
    return create_app(ws, warm=True, release_interval_s=ws.settings.serve.release_interval_s)


class _Contain:
    """Pure ASGI middleware: an unexpected exception becomes the 500 in OpenAI's shape here, and goes no
    further. Starlette's own last-resort handler answers too, but then re-raises, and uvicorn closes
    the connection: the client's next request on that keep-alive connection was reset."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception:
            if started:  # a stream that failed half-way: nothing left to answer with
                raise
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await _reply(send, 500, "internal error; see the server log", "api_error", "internal_error")


class _Guard:
    """Pure ASGI middleware: body-size limit and in-flight cap for /v1/ calls."""

    def __init__(self, app, *, max_in_flight: int, max_body_bytes: int):
        self.app = app
        self.max_body = max_body_bytes
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return await _reply(send, 413, f"request body over {self.max_body} bytes", "invalid_request_error")
        if self.in_flight >= self.max_in_flight:
            return await _reply(send, 429, "too many requests in flight; retry shortly", "rate_limit_error")
        self.in_flight += 1
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge(self.max_body)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _reply(send, 413, f"request body over {self.max_body} bytes", "invalid_request_error")
        finally:
            self.in_flight -= 1


class _TooLarge(HTTPException):
    """A body without Content-Length passed the limit while being read. An HTTPException, because
    FastAPI re-raises those from body parsing (to the error handler: a 413) but turns any other
    exception there into a generic 400."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body over {limit} bytes")


async def _reply(send, status: int, message: str, type_: str, code: str | None = None) -> None:
    response = errors.error_response(status, message, type_, code)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive():
    await asyncio.sleep(0)
    return {"type": "http.disconnect"}


def _span_export(ws: Workspace, gateway: Gateway) -> SpanExport | None:
    """OTLP export of every call's spans when `[observe] otlp_endpoint` is set."""
    observe = ws.settings.observe
    if not observe.otlp_endpoint:
        return None
    from loopwright.observe.otel import SpanExport  # OpenTelemetry's SDK loads only where export is on

    export = SpanExport(observe.otlp_endpoint, service_name=observe.service_name, max_queue=observe.otlp_queue,
                        on_drop=gateway.metrics.otel_dropped.inc)
    gateway.sinks.append(export.submit)
    return export
