"""The operator console under `/console`: server-rendered pages (Jinja2, autoescaped), plain forms, and one
stylesheet served from the package; no build step and nothing from the network.

    session.py   sign-in, the signed session cookie, CSRF, who may do what
    pages.py     Overview, Releases, Traces, a trace, Receipts (and `audit verify`), Spot checks, Advisor
    actions.py   the writes: promote, abort, roll back, spot-check decisions
    charts.py    inline SVG lines with release markers

Errors on these paths are pages, not OpenAI's JSON: a library error is shown in one line with its hint,
with the status its class maps to (`server.errors`), and a missing session sends the browser to sign in.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from loopwright.errors import LoopwrightError
from loopwright.server.console import actions, pages
from loopwright.server.console.session import SignInRequired
from loopwright.server.errors import for_exception

PREFIX = "/console"


def _ours(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def install(app: FastAPI) -> None:
    """Add the console's routes, its static files, and error pages for its paths (the API's errors stay JSON)."""
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
    for kind in (LoopwrightError, RequestValidationError, HTTPException):
        app.add_exception_handler(kind, _page_or(app.exception_handlers[kind]))


def _page_or(api_handler):
    async def handle(request: Request, exc: Exception):
        if not _ours(request):
            return await api_handler(request, exc)
        if isinstance(exc, SignInRequired):
            return RedirectResponse(f"{PREFIX}/login?{urlencode({'error': exc.message})}", status_code=303)
        if isinstance(exc, LoopwrightError):
            status, message, hint = for_exception(exc).status_code, exc.message, exc.hint
        elif isinstance(exc, RequestValidationError):
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            status, message, hint = 400, f"{where}: {err.get('msg', 'invalid')}", None
        else:
            status, message, hint = exc.status_code, str(exc.detail), None
        return pages.templates.TemplateResponse(request, "error.html", {"user": None, "status": status, "message": message,
                                                                        "hint": hint, "page": "error", "done": None},
                                                status_code=status)

    return handle
