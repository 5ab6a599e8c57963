"""The console's pages: each a library call and a template. Every page needs a session (`current_user`);
releases, receipts and the advisor need an operator's, traces show what the user's `TraceView` may read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from loopwright.learning.review import review_queue, review_sample, review_status
from loopwright.observe import traces
from loopwright.observe.advisor import advise
from loopwright.observe.integrity import verify_workspace
from loopwright.observe.timeline import overview as overview_of
from loopwright.registry.deployment import get_deployment
from loopwright.registry.payloads import Action
from loopwright.registry.receipts import list_receipts
from loopwright.release import releases
from loopwright.server.console import charts
from loopwright.server.console.session import LOGIN_TTL_S, PRE_COOKIE, ConsoleUser, current_user, login_token, require_operator, set_cookie
from loopwright.server.deps import gateway_of
from loopwright.text import Text

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/console", include_in_schema=False, default_response_class=HTMLResponse)

User = Annotated[ConsoleUser, Depends(current_user)]
Filter = Annotated[Text | None, Query(max_length=100)]


def page(request: Request, name: str, user: ConsoleUser | None, **context) -> HTMLResponse:
    """`name`'s template with the user (and the CSRF token its forms carry) and what the last write said."""
    done = request.query_params.get("done")
    return templates.TemplateResponse(request, name, {"user": user, "done": done, "page": name.removesuffix(".html"), **context})


def _none(value: str | None) -> str | None:
    """An empty search field is no filter."""
    return value.strip() or None if value is not None else None


@router.get("/login")
def login(request: Request) -> HTMLResponse:
    token, cookie = login_token(request)
    response = page(request, "login.html", None, login_csrf=token, error=request.query_params.get("error"))
    set_cookie(request, response, PRE_COOKIE, cookie, LOGIN_TTL_S)
    return response


@router.get("")
@router.get("/")
def overview(request: Request, user: User, since: Filter = None, until: Filter = None) -> HTMLResponse:
    ws = gateway_of(request).ws
    data = overview_of(ws, since=_none(since), until=_none(until))
    return page(request, "overview.html", user, data=data, plots=charts.overview_charts(data),
                since=since or "", until=until or "")


@router.get("/releases")
def releases_page(request: Request, user: User) -> HTMLResponse:
    require_operator(user)
    ws = gateway_of(request).ws
    live = [(r.to_dict(), a.to_dict()) for r, a in releases.live_analysis(ws)]
    newest = lambda h: h["rollback"]["ts"] if "rollback" in h else h["started_at"]  # noqa: E731 - releases and rollbacks, one timeline
    history = sorted(releases.history(ws), key=newest, reverse=True)[:50]
    return page(request, "releases.html", user, slots=sorted(get_deployment(ws).slots.values(), key=lambda s: s.slot),
                live=live, history=history)


@router.get("/traces")
def traces_page(
    request: Request, user: User, intent: Filter = None, outcome: Filter = None, language: Filter = None,
    artifact: Filter = None, subject: Filter = None, since: Filter = None, until: Filter = None,
    offset: Annotated[int, Query(ge=0, le=traces.MAX_OFFSET)] = 0,
) -> HTMLResponse:
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    query = {"intent": intent, "outcome": outcome, "language": language, "artifact": artifact, "subject": subject,
             "since": since, "until": until}
    found = traces.list_traces(gateway.ws, view=user.view, limit=50, offset=offset, **{k: _none(v) for k, v in query.items()})
    return page(request, "traces.html", user, found=found, query={k: v or "" for k, v in query.items()},
                offset=offset, outcomes=traces.OUTCOMES)


@router.get("/traces/{trace_id}")
def trace_page(request: Request, user: User, trace_id: Text) -> HTMLResponse:
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    return page(request, "trace.html", user, trace=traces.get_trace(gateway.ws, trace_id, view=user.view))


@router.get("/receipts")
def receipts_page(
    request: Request, user: User, subject: Filter = None, action: Filter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, verify: bool = False,
) -> HTMLResponse:
    require_operator(user)
    ws = gateway_of(request).ws
    with ws.session() as s:
        found = list_receipts(s, subject=_none(subject), action=_none(action), limit=limit)
    return page(request, "receipts.html", user, found=[r.to_dict() for r in reversed(found)],
                verified=verify_workspace(ws) if verify else None, query={"subject": subject or "", "action": action or ""}, limit=limit)


@router.get("/spotchecks")
def spotchecks_page(request: Request, user: User, dataset: Filter = None) -> HTMLResponse:
    ws = gateway_of(request).ws
    statuses = [status.to_dict() for status in review_queue(ws)]
    chosen = _none(dataset) or (statuses[-1]["ref"] if statuses else None)
    sample = review_sample(ws, chosen) if chosen else []
    status = review_status(ws, chosen).to_dict() if chosen else None
    return page(request, "spotchecks.html", user, statuses=statuses, chosen=chosen, sample=sample[:25], status=status,
                pending=len(sample))


@router.get("/advisor")
def advisor_page(request: Request, user: User, since: Filter = None) -> HTMLResponse:
    require_operator(user)
    ws = gateway_of(request).ws
    with ws.session() as s:  # the calls changes were decided on (the demo's phases, say), newest first
        calls = [r.to_dict() for r in reversed(list_receipts(s, action=Action.ADVISOR_CALL, limit=50))]
    return page(request, "advisor.html", user, advice=advise(ws, since=_none(since)).to_dict(), since=since or "", calls=calls)
