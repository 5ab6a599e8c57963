"""One error shape for every HTTP answer: OpenAI's `{"error": {"message", "type", "param", "code"}}`.

Library errors map to 4xx by class; anything unexpected is logged and answered
as a 500 in the same shape, without internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound, Overloaded, StoreUnavailable
from loopwright.serving.auth import AuthError
from loopwright.serving.backends import BackendError
from loopwright.serving.pipeline import NotDeployed

log = logging.getLogger(__name__)


_STATUS = [
    (AuthError, 401, "authentication_error", "invalid_api_key"),
    (NotFound, 404, "invalid_request_error", "not_found"),
    (InvalidInput, 400, "invalid_request_error", "invalid_request"),
    (ConflictError, 409, "invalid_request_error", "conflict"),
    (Overloaded, 429, "rate_limit_error", "overloaded"),
    (BackendError, 502, "api_error", "upstream_error"),
    (StoreUnavailable, 503, "api_error", "store_unavailable"),
    (NotDeployed, 503, "api_error", "not_deployed"),
]


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, type_: str, code: str | None = None, param: str | None = None) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(error_body(message, type_, code, param), status_code=status, headers=headers)


def for_exception(exc: LoopwrightError) -> JSONResponse:
    for cls, status, type_, code in _STATUS:
        if isinstance(exc, cls):
            code = "model_not_found" if type(exc).__name__ == "ModelNotFound" else exc.code or code
            return error_response(status, exc.one_line(), type_, code)
    log.error("unmapped loopwright error: %s", exc.one_line())
    return error_response(500, exc.one_line(), "api_error", "internal_error")


def install(app: FastAPI) -> None:
    @app.exception_handler(LoopwrightError)
    async def _loopwright(_: Request, exc: LoopwrightError):
        return for_exception(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", []) if p != "body"]
        param = ".".join(loc) or None
        message = f"{param}: {err['msg']}" if param else err["msg"]
        if err.get("type") == "json_invalid":
            message = "the request body is not valid JSON"
        return error_response(400, message, "invalid_request_error", "invalid_request", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        type_ = "invalid_request_error" if exc.status_code < 500 else "api_error"
        return error_response(exc.status_code, str(exc.detail), type_)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        log.exception("unexpected error")
        return error_response(500, "internal error; see the server log", "api_error", "internal_error")
