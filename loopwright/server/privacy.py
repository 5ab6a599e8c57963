"""Data-subject requests over HTTP: the export behind a signed link, and what operators see and approve.

    GET  /v1/privacy/exports/{id}?expires=...&signature=...   the masked export (no key: the link is the credential)
    GET  /v1/admin/subject-requests[?all=true]                 open requests and their deadlines (operators)
    POST /v1/admin/subject-requests/{id}/approve               approve an erasure held for staff (policy approvers)

All three are thin over `loopwright.policy.requests`. Operators see the
requests of their own tenant and of the tenants their role acts for
(`[tools.roles.ROLE] acts_for`): contact-centre staff serve retail customers.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from loopwright.errors import NotFound
from loopwright.policy import requests
from loopwright.policy.principal import Principal
from loopwright.server.deps import gateway_of, live_policy, operator
from loopwright.server.errors import responses
from loopwright.serving.auth import PermissionDenied
from loopwright.text import Text

router = APIRouter()


class RequestList(BaseModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]


def _tenants(principal: Principal, request: Request) -> set[str]:
    return {principal.tenant, *live_policy(request).role_tools(principal.role).acts_for}


@router.get(f"{requests.EXPORT_ROUTE}/{{request_id}}", tags=["privacy"], responses=responses(400, 403, 404),
            openapi_extra={"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}})
def export(request_id: Text, request: Request, expires: int = Query(ge=0, le=2**40),
           signature: Text = Query(min_length=1, max_length=128)) -> Response:
    """A fulfilled access request's masked export, for as long as its signed link is valid."""
    data = requests.read_export(gateway_of(request).ws, request_id, expires, signature)
    return Response(data, media_type="application/json",
                    headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{request_id}.json"'})


@router.get("/v1/admin/subject-requests", tags=["privacy"], response_model=RequestList, responses=responses(401, 403))
def list_subject_requests(request: Request, principal: Principal = Depends(operator),
                          all: bool = Query(False, description="Include completed requests.")) -> RequestList:
    """Data-subject requests of the tenants the operator serves, soonest due first."""
    ws, tenants = gateway_of(request).ws, _tenants(principal, request)
    found = requests.list_requests(ws, include_completed=all)
    return RequestList(data=[r.to_dict() for r in found if r.tenant in tenants])


@router.post("/v1/admin/subject-requests/{request_id}/approve", tags=["privacy"], response_model=dict[str, Any],
             responses=responses(400, 401, 403, 404, 409))
def approve(request_id: Text, request: Request, principal: Principal = Depends(operator)) -> dict[str, Any]:
    """Approve (and so fulfil) a request held for staff approval; another tenant's is a 404."""
    policy = live_policy(request)
    if principal.role not in policy.privacy.approvers:
        raise PermissionDenied(f"role {principal.role!r} may not approve data-subject requests",
                               hint="an approver's key can (policy: privacy.approvers)")
    ws = gateway_of(request).ws
    found = requests.get_request(ws, request_id)
    if found.tenant not in _tenants(principal, request):
        raise NotFound(f"no data-subject request {request_id!r}")
    done = requests.approve_request(ws, request_id, approver=f"key/{principal.key_id}", policy=policy)
    return done.to_dict()
