"""Traces, feedback, health and metrics. Every read is scoped to the caller's tenant."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from loopwright.observe import traces
from loopwright.policy.principal import Principal
from loopwright.server.deps import authenticate, gateway_of

router = APIRouter()


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: str = Field(min_length=1, max_length=40)
    thumbs: Literal[-1, 1] | None = Field(None, description="1 up, -1 down.")
    score: float | None = Field(None, ge=0, le=5, description="Rubric score, 0 to 5.")
    text: str | None = Field(None, max_length=4000, description="Free text; kept only with consent.")
    consent: bool = Field(False, description="The user agreed to this feedback being used for learning.")


class FeedbackOut(BaseModel):
    trace_id: str
    outcome: str


@router.get("/healthz", tags=["ops"])
def healthz(request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    return {"status": "ok", "deployment_version": gateway.watcher.current.version}


@router.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
def metrics(request: Request, principal: Principal = Depends(authenticate)) -> PlainTextResponse:
    return PlainTextResponse(gateway_of(request).metrics.exposition(), media_type="text/plain; version=0.0.4")


@router.get("/v1/traces/{trace_id}", tags=["traces"])
def get_trace(trace_id: str, request: Request, principal: Principal = Depends(authenticate)) -> dict[str, Any]:
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    return traces.get_trace(gateway.ws, trace_id, tenant=principal.tenant)


@router.get("/v1/traces", tags=["traces"])
def list_traces(
    request: Request,
    principal: Principal = Depends(authenticate),
    since: str | None = Query(None, description="ISO-8601 UTC lower bound on the trace time."),
    intent: str | None = Query(None),
    outcome: str | None = Query(None),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)  # read-your-writes, as for one trace: the caller's last call is listed
    data = traces.list_traces(
        gateway.ws, tenant=principal.tenant, since=since, intent=intent, outcome=outcome, limit=limit, offset=offset
    )
    return {"object": "list", "data": data, "limit": limit, "offset": offset, "has_more": len(data) == limit}


@router.post("/v1/feedback", tags=["traces"], response_model=FeedbackOut)
def feedback(body: FeedbackIn, request: Request, principal: Principal = Depends(authenticate)) -> FeedbackOut:
    gateway = gateway_of(request)
    gateway.writer.flush(timeout=5)
    outcome = traces.record_feedback(
        gateway.ws,
        body.trace_id,
        tenant=principal.tenant,
        thumbs=body.thumbs,
        score=body.score,
        text=body.text,
        consent=body.consent,
    )
    return FeedbackOut(trace_id=body.trace_id, outcome=outcome)
