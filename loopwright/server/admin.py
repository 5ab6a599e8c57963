"""Traces, feedback, health and metrics. Every read is scoped to what the caller may see (`TraceView`)."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from loopwright.learning.feedback import Author, Feedback, record_feedback
from loopwright.observe import traces
from loopwright.observe.traces import MAX_OFFSET, TraceView
from loopwright.policy.principal import Principal
from loopwright.server.deps import authenticate, gateway_of, live_policy, operator, trace_view
from loopwright.server.errors import ErrorResponse, error_response, responses
from loopwright.serving.conversations import CONVERSATION_ID
from loopwright.text import Text

router = APIRouter()


class FeedbackIn(Feedback):
    """The library's `Feedback` on the wire: strict JSON types, and the trace it grades."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    trace_id: Text = Field(min_length=1, max_length=40)


class FeedbackOut(BaseModel):
    trace_id: str
    outcome: str


class Health(BaseModel):
    status: Literal["ok"]
    deployment_version: int
    worker: int = Field(description="The answering process's id: with `serve --workers N`, which of the N answered.")


@router.get("/healthz", tags=["ops"], response_model=Health, responses={503: {"model": ErrorResponse, "description": "Not ready: traces are not being written."}})
def healthz(request: Request):
    """Ready when the gateway's trace writer is running: a server that cannot trace its calls is not ready."""
    gateway = gateway_of(request)
    if not gateway.writer.alive:
        return error_response(503, "not ready: the trace writer has stopped, so calls are not traced", "api_error", "not_ready")
    return Health(status="ok", deployment_version=gateway.watcher.current.version, worker=os.getpid())


@router.get(
    "/metrics", tags=["ops"], response_class=PlainTextResponse, responses=responses(401, 403),
    openapi_extra={"responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}},
)
def metrics(request: Request, principal: Principal = Depends(operator)) -> PlainTextResponse:
    """Prometheus metrics for an operator's tenant (samples labelled with another tenant are left out)."""
    body = gateway_of(request).metrics.exposition(tenant=principal.tenant)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")


@router.get("/v1/traces/{trace_id}", tags=["traces"], response_model=dict[str, Any], responses=responses(400, 401, 404))
def get_trace(trace_id: Text, request: Request, view: TraceView = Depends(trace_view)) -> dict[str, Any]:
    """One trace in full, if the caller may see it; any other id is a 404, whether or not it exists."""
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    return traces.get_trace(gateway.ws, trace_id, view=view)


class TraceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    limit: int
    offset: int
    has_more: bool


@router.get("/v1/traces", tags=["traces"], response_model=TraceList, responses=responses(400, 401))
def list_traces(
    request: Request,
    view: TraceView = Depends(trace_view),
    since: Text | None = Query(None, max_length=64, description="ISO-8601 UTC lower bound on the trace time."),
    intent: Text | None = Query(None, max_length=50),
    outcome: Text | None = Query(None, max_length=16),
    conversation: Text | None = Query(None, pattern=CONVERSATION_ID, description="Only this conversation's turns."),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> TraceList:
    """The caller's visible traces, newest first."""
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)  # read-your-writes, as for one trace: the caller's last call is listed
    data = traces.list_traces(gateway.ws, view=view, since=since, intent=intent, outcome=outcome,
                              conversation=conversation, limit=limit, offset=offset)
    return TraceList(data=data, limit=limit, offset=offset, has_more=len(data) == limit)


@router.get("/v1/conversations/{conversation_id}", tags=["traces"], response_model=dict[str, Any], responses=responses(400, 401, 404))
def get_conversation(conversation_id: Annotated[Text, Path(pattern=CONVERSATION_ID)], request: Request, view: TraceView = Depends(trace_view)) -> dict[str, Any]:
    """A conversation's turns the caller may see, oldest first, each with its feedback: a customer sees only their
    own, whatever id they send; an id with no visible turn is a 404, whether or not anyone used it."""
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    return traces.get_conversation(gateway.ws, conversation_id, view=view)


@router.post("/v1/feedback", tags=["traces"], response_model=FeedbackOut, responses=responses(400, 401, 404, 413, 429))
def feedback(
    body: FeedbackIn, request: Request, view: TraceView = Depends(trace_view), principal: Principal = Depends(authenticate)
) -> FeedbackOut:
    """Grade or correct a trace the caller may see; free text is masked before it is stored, and only
    feedback with `consent` is ever learned from."""
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    fields = body.model_dump(exclude={"trace_id"}, exclude_none=True)
    policy = live_policy(request)
    outcome = record_feedback(gateway.ws, body.trace_id, view=view, author=Author.of(principal, policy), policy=policy, **fields)
    return FeedbackOut(trace_id=body.trace_id, outcome=outcome)
