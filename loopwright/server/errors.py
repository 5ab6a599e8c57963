"""One error shape for every HTTP answer: OpenAI's `{"error": {"message", "type", "param", "code"}}`.

Library errors map to 4xx by class; anything unexpected is logged and answered
as a 500 in the same shape, without internals (by `app._Contain`, which keeps the
connection open).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound, Overloaded, StoreUnavailable
from loopwright.policy.requests import LinkRefused
from loopwright.serving.auth import AuthError, PermissionDenied
from loopwright.serving.backends import BackendError
from loopwright.serving.pipeline import NotDeployed

log = logging.getLogger(__name__)


_STATUS = [
    (AuthError, 401, "authentication_error", "invalid_api_key"),
    (PermissionDenied, 403, "permission_error", "permission_denied"),
    (LinkRefused, 403, "permission_error", "link_refused"),
    (NotFound, 404, "invalid_request_error", "not_found"),
    (InvalidInput, 400, "invalid_request_error", "invalid_request"),
    (ConflictError, 409, "invalid_request_error", "conflict"),
    (Overloaded, 429, "rate_limit_error", "overloaded"),
    (BackendError, 502, "api_error", "upstream_error"),
    (StoreUnavailable, 503, "api_error", "store_unavailable"),
    (NotDeployed, 503, "api_error", "not_deployed"),
]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error body: every non-2xx answer of the HTTP surface has exactly this shape."""

    error: ErrorDetail


_MEANING = {
    400: "Invalid request: malformed JSON, a wrong type, a value out of range, text that is not valid Unicode.",
    401: "Missing, malformed, unknown or revoked API key.",
    403: "The key's role may not do this; or a signed link that is tampered with or expired.",
    404: "No such model, or no such trace visible to this key.",
    409: "The request contradicts stored state (a data-subject request that is not awaiting approval).",
    413: "Request body over the size limit.",
    429: "Too many requests in flight; retry after the Retry-After seconds.",
    502: "The upstream model endpoint failed.",
    503: "Not ready: nothing deployed on a slot the call needs, or the store does not answer.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status with its meaning and OpenAI's error schema."""
    return {status: {"model": ErrorResponse, "description": _MEANING[status]} for status in statuses}


def openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI schema without FastAPI's automatic 422 (this API answers 400 instead, in OpenAI's
    shape) and the validation-error schemas only it used, every error as OpenAI's error body. Built once."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                answers = operation.get("responses", {})
                answers.pop("422", None)
                for status, answer in answers.items():
                    if status[0] in "45":  # errors are JSON even where the route's success is not (/metrics)
                        answer["content"] = error
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, type_: str, code: str | None = None, param: str | None = None) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(error_body(message, type_, code, param), status_code=status, headers=headers)


def for_exception(exc: LoopwrightError) -> JSONResponse:
    for cls, status, type_, code in _STATUS:
        if isinstance(exc, cls):
            code = "model_not_found" if type(exc).__name__ == "ModelNotFound" else exc.code or code
            return error_response(status, exc.one_line(), type_, code, getattr(exc, "param", None))
    log.error("unmapped loopwright error: %s", exc.one_line())
    return error_response(500, exc.one_line(), "api_error", "internal_error")


# Errors about the text itself: for a field that is text or a list of parts, they say more than
# "Input should be a valid list" from the union's other branch.
_TEXT_ERRORS = ("invalid_unicode", "nul_character", "string_unicode")


def validation_response(errors) -> JSONResponse:
    """A 400 for pydantic's errors: one line that names the field (`messages.0.content`), in `param` too."""
    err = next((e for e in errors if e.get("type") in _TEXT_ERRORS), errors[0])
    # Drop "body", and the union branch tags pydantic puts in the path ("str", "list[ContentPart]").
    loc = [str(p) for p in err.get("loc", []) if p != "body" and not (isinstance(p, str) and ("[" in p or p in _TAGS))]
    param = ".".join(loc) or None
    text = " ".join(str(err["msg"]).removeprefix("Value error, ").split())
    message = f"{param}: {text}" if param else text
    if err.get("type") == "json_invalid":
        message = "the request body is not valid JSON"
    return error_response(400, message, "invalid_request_error", "invalid_request", param)


_TAGS = {"str", "int", "float", "bool", "none"}


def install(app: FastAPI) -> None:
    @app.exception_handler(LoopwrightError)
    async def _loopwright(_: Request, exc: LoopwrightError):
        return for_exception(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        type_ = "invalid_request_error" if exc.status_code < 500 else "api_error"
        return error_response(exc.status_code, str(exc.detail), type_)

