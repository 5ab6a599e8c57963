"""The console's writes: sign in and out, release steps, rollbacks and spot checks. Each is a form POST that
carries the session's CSRF token (`checked_form`), calls the same library function as the CLI (which writes
the receipt, naming the console user as its actor) and sends the browser back to the page with what it did."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from loopwright.errors import InvalidInput
from loopwright.learning.review import Decision, record_decisions
from loopwright.release import releases
from loopwright.server.console.session import (
    COOKIE,
    PRE_COOKIE,
    SESSION_TTL_S,
    checked_form,
    current_user,
    require_operator,
    set_cookie,
    sign_in,
)
from loopwright.server.deps import gateway_of
from loopwright.text import Text

router = APIRouter(prefix="/console", include_in_schema=False)

Fields = Annotated[dict[str, str], Depends(checked_form)]


def back(path: str, done: str) -> RedirectResponse:
    """303: the browser GETs the page again, which shows `done` (escaped, as every value)."""
    return RedirectResponse(f"/console{path}?{urlencode({'done': done})}", status_code=303)


@router.post("/login")
def login(request: Request, key: Annotated[Text, Form(max_length=200)], csrf: Annotated[Text, Form(max_length=100)] = "") -> RedirectResponse:
    user, cookie = sign_in(request, key, csrf)
    response = back("/" if user.operator else "/traces", f"signed in as {user.principal.role} of {user.principal.tenant}")
    set_cookie(request, response, COOKIE, cookie, SESSION_TTL_S)
    response.delete_cookie(PRE_COOKIE, path="/console")
    return response


@router.post("/logout")
def logout(_: Fields) -> RedirectResponse:
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


def _operator(request: Request):
    return require_operator(current_user(request))


def _reason(fields: dict[str, str], default: str) -> str:
    reason = fields.get("reason", "").strip()
    if len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters")
    return reason or default


@router.post("/releases/{slot}/promote")
def promote(request: Request, slot: Text, fields: Fields) -> RedirectResponse:
    user = _operator(request)
    release = releases.promote(gateway_of(request).ws, slot, actor=user.actor, reason=_reason(fields, "promoted in the console"))
    return back("/releases", f"promoted {release.candidate.ref} on {slot}")


@router.post("/releases/{slot}/abort")
def abort(request: Request, slot: Text, fields: Fields) -> RedirectResponse:
    user = _operator(request)
    release = releases.abort(gateway_of(request).ws, slot, actor=user.actor, reason=_reason(fields, "aborted in the console"))
    return back("/releases", f"aborted the canary of {release.candidate.ref} on {slot}")


@router.post("/slots/{slot}/rollback")
def rollback(request: Request, slot: Text, fields: Fields) -> RedirectResponse:
    user = _operator(request)
    to = fields.get("to", "").strip() or None
    receipt = releases.rollback(gateway_of(request).ws, slot, to=to, actor=user.actor, reason=_reason(fields, "rolled back in the console"))
    now = receipt.after.get("stable") if isinstance(receipt.after, dict) else None
    return back("/releases", f"rolled back {slot}: now {now or 'nothing'} (receipt {receipt.id})")


@router.post("/spotchecks/decide")
def decide(request: Request, fields: Fields) -> RedirectResponse:
    user = current_user(request)
    dataset, item, verdict = fields.get("dataset", ""), fields.get("item", ""), fields.get("decision", "")
    label = fields.get("label", "").strip() or None if verdict == "relabel" else None
    status = record_decisions(gateway_of(request).ws, dataset, [Decision(item, verdict, label)],  # type: ignore[arg-type]
                              reviewer=user.actor, scripted=False)
    return RedirectResponse(
        f"/console/spotchecks?{urlencode({'dataset': dataset, 'done': f'{verdict} {item}: {status.reviewed} of {status.quota} reviewed'})}",
        status_code=303,
    )
