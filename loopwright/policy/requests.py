"""Data-subject requests: a customer's "what do you hold about me?" or "delete my data", tracked to its deadline.

    row = open_request(session, ws, kind="erasure", tenant="larkspur-retail", subject="cus_001",
                       opened_by="key/k_1", rules=policy.privacy)   # in the caller's write transaction
    fulfil_request(ws, row.id, policy=policy, actor="chat")        # access: the masked export; erasure: the erase
    approve_request(ws, "dsr_...", approver="ops@bank", policy=policy)  # where the policy holds erasures for staff
    export_link(ws, "dsr_...", ttl_s=86_400)    # "/v1/privacy/exports/dsr_...?expires=...&signature=..."
    read_export(ws, "dsr_...", expires, signature)   # the export's bytes; `LinkRefused` for a bad or old link
    list_requests(ws)                            # open requests, soonest due first

A request is opened only for a subject the policy's register knows
(`[privacy] register_stores`), each step leaves a receipt in the same
transaction (`subject.request.open`, `.approve`, `.fulfil`, and the erase's own
`subject.erase`), and it falls due `[privacy] due_days` after opening (GDPR
art. 12(3): one month). The chat flow that opens requests is the
`privacy_request` tool (`loopwright.tools.privacy`): the key's subject, and
only it, with the customer's confirmation.

The export is the subject's `export_subject` with every string masked by the
policy's PII rules, stored in the blob store, and fetched through a link signed
with a key derived from the workspace's secret (HMAC-SHA256 over the request
id and the expiry): no bearer key is needed, and a link whose id, expiry or
signature was changed, or that has expired, is refused. An erasure of the
subject deletes the export and pseudonymises the request, which stays as the
record that the request was answered, and when.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from loopwright.digests import utc_now
from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound
from loopwright.policy.subjects import erase_in, export_subject, pseudonym, registered_stores, subject_store
from loopwright.registry.payloads import (
    RequestApproval, RequestFulfilled, RequestOpened, RequestStatus, SubjectRequestApprove, SubjectRequestFulfil,
    SubjectRequestOpen,
)
from loopwright.registry.receipts import append_receipt
from loopwright.store.engine import checkpoint_wal
from loopwright.store.schema import Base

if TYPE_CHECKING:
    from loopwright.policy.schema import PolicySet, PrivacyRules
    from loopwright.workspace import Workspace

Kind = Literal["access", "erasure"]
KINDS: tuple[str, ...] = ("access", "erasure")
EXPORT_ROUTE = "/v1/privacy/exports"
OPEN = ("open", "awaiting_approval")


class LinkRefused(LoopwrightError):
    """An export link whose request, expiry or signature does not verify, or that has expired (HTTP 403)."""


class SubjectRequestRow(Base):
    """One data-subject request. `subject` becomes the keyed pseudonym once the subject is erased."""

    __tablename__ = "subject_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)  # open | awaiting_approval | completed
    needs_approval: Mapped[bool] = mapped_column(Boolean)
    opened_by: Mapped[str] = mapped_column(String(200))
    ticket: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the chat tool call that opened it
    opened_at: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[str] = mapped_column(String(32))
    approved_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    completed_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    export_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    receipt_seq: Mapped[int] = mapped_column(Integer)
    completion_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


@dataclass(frozen=True)
class SubjectRequest:
    """A request as operators and customers read it."""

    id: str
    kind: str
    tenant: str
    subject: str
    status: str
    needs_approval: bool
    opened_at: str
    due_at: str
    days_left: float  # negative: overdue
    approved_by: str | None
    completed_at: str | None
    export_digest: str | None

    @classmethod
    def of(cls, row: SubjectRequestRow) -> SubjectRequest:
        due = datetime.strptime(row.due_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        left = round((due - datetime.now(UTC)).total_seconds() / 86_400, 2)
        return cls(row.id, row.kind, row.tenant, row.subject, row.status, row.needs_approval, row.opened_at,
                   row.due_at, left, row.approved_by, row.completed_at, row.export_digest)

    @property
    def overdue(self) -> bool:
        return self.status != "completed" and self.days_left < 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overdue": self.overdue}


def subject_known(session: Session, ws: Workspace, subject: str, rules: PrivacyRules) -> bool:
    """Whether the register (`rules.register_stores`, else every store but API keys) holds anything on `subject`."""
    stores = registered_stores()
    names = rules.register_stores or tuple(n for n in stores if n not in ("api_keys", "subject_requests"))
    return any(bool(stores[n].export(session, ws, subject)) for n in names if n in stores)


def open_request(
    session: Session, ws: Workspace, *, kind: str, tenant: str, subject: str, opened_by: str, rules: PrivacyRules,
    ticket: str | None = None,
) -> SubjectRequestRow:
    """Open a request inside the caller's write transaction, with its `subject.request.open` receipt.
    `InvalidInput` for an unknown kind, `NotFound` for a subject the register does not know."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown request kind {kind!r}", hint="access or erasure")
    if not subject_known(session, ws, subject, rules):
        raise NotFound(f"no customer record for {subject!r}: nothing to export or erase",
                       hint="a request names a customer the register holds")
    now = datetime.now(UTC)
    due = (now + timedelta(days=rules.due_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    needs_approval = kind == "erasure" and rules.erasure_approval
    status = "awaiting_approval" if needs_approval else "open"
    request_id = f"dsr_{secrets.token_hex(6)}"
    receipt = append_receipt(
        session, ws, SubjectRequestOpen(after=RequestOpened(kind=kind, status=status, due_at=due, needs_approval=needs_approval)),
        subject=f"request/{request_id}", actor=opened_by,
    )
    row = SubjectRequestRow(id=request_id, kind=kind, tenant=tenant, subject=subject, status=status,
                            needs_approval=needs_approval, opened_by=opened_by, ticket=ticket, opened_at=receipt.ts,
                            due_at=due, receipt_seq=receipt.seq)
    session.add(row)
    session.flush()
    return row


def _row(session: Session, request_id: str) -> SubjectRequestRow:
    row = session.get(SubjectRequestRow, request_id) if isinstance(request_id, str) and len(request_id) <= 32 else None
    if row is None:
        raise NotFound(f"no data-subject request {request_id!r}", hint="`loopwright subject requests --all` lists them")
    return row


def get_request(ws: Workspace, request_id: str) -> SubjectRequest:
    with ws.session() as s:
        return SubjectRequest.of(_row(s, request_id))


def list_requests(ws: Workspace, *, tenant: str | None = None, include_completed: bool = False) -> list[SubjectRequest]:
    """Requests, soonest due first: the open ones (those awaiting approval included), or all of them."""
    query = sa.select(SubjectRequestRow).order_by(SubjectRequestRow.due_at, SubjectRequestRow.id)
    if not include_completed:
        query = query.where(SubjectRequestRow.status.in_(OPEN))
    if tenant is not None:
        query = query.where(SubjectRequestRow.tenant == tenant)
    with ws.session() as s:
        return [SubjectRequest.of(r) for r in s.scalars(query)]


def approve_request(ws: Workspace, request_id: str, *, approver: str, policy: PolicySet,
                    tenant: str | None = None) -> SubjectRequest:
    """A staff approval of a request awaiting one (receipt `subject.request.approve`), then its fulfilment.
    `tenant` limits an operator to its own tenant's requests (another's is not found)."""
    with ws.write() as s:
        row = _row(s, request_id)
        if tenant is not None and row.tenant != tenant:
            raise NotFound(f"no data-subject request {request_id!r}", hint="`loopwright subject requests --all` lists them")
        if row.status != "awaiting_approval":
            raise ConflictError(f"request {request_id} is {row.status}, not awaiting approval")
        append_receipt(s, ws, SubjectRequestApprove(before=RequestStatus(status=row.status),
                                                    after=RequestApproval(approved_by=approver)),
                       subject=f"request/{row.id}", actor=approver)
        row.status, row.approved_at, row.approved_by = "open", utc_now(), approver
    return fulfil_request(ws, request_id, policy=policy, actor=approver)


def fulfil_request(ws: Workspace, request_id: str, *, policy: PolicySet, actor: str) -> SubjectRequest:
    """Do what an open request asks: the masked export (access) or the erase (erasure), each with its receipt.
    `ConflictError` for a request that waits for approval or is already done."""
    with ws.session() as s:
        row = _row(s, request_id)
        kind, subject, status = row.kind, row.subject, row.status
    if status != "open":
        raise ConflictError(f"request {request_id} is {status}",
                            hint="`loopwright subject approve` approves one awaiting approval")
    if kind == "access":
        data = _masked(export_subject(ws, subject), policy)
        digest = ws.blobs.put(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode())
        with ws.write() as s:
            row = _completed(s, ws, _row(s, request_id), actor, RequestFulfilled(status="completed", export_digest=digest))
            row.export_digest = digest
            return SubjectRequest.of(row)
    with ws.write() as s:
        erased = erase_in(s, ws, subject, actor=actor)
        row = _completed(s, ws, _row(s, request_id), actor, RequestFulfilled(status="completed", erase_receipt=erased.seq))
        done = SubjectRequest.of(row)
    checkpoint_wal(ws.engine)
    return done


def _completed(session: Session, ws: Workspace, row: SubjectRequestRow, actor: str,
               after: RequestFulfilled) -> SubjectRequestRow:
    if row.status != "open":  # another replica fulfilled it between the read and this write
        raise ConflictError(f"request {row.id} is {row.status}")
    receipt = append_receipt(session, ws, SubjectRequestFulfil(before=RequestStatus(status=row.status), after=after),
                             subject=f"request/{row.id}", actor=actor)
    row.status, row.completed_at, row.completion_seq = "completed", receipt.ts, receipt.seq
    return row


def _masked(value: Any, policy: PolicySet) -> Any:
    """Every string in the export masked by the policy's PII rules (one vault: a value keeps its mask)."""
    from loopwright.policy.pii import PiiVault, mask_text

    vault = PiiVault()

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return mask_text(v, policy.pii, vault).text
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def _link_key(ws: Workspace) -> bytes:
    from loopwright.policy.pii import pii_key

    return hmac.new(pii_key(ws), b"loopwright export link v1", hashlib.sha256).digest()


def _signature(ws: Workspace, request_id: str, expires: int) -> str:
    return hmac.new(_link_key(ws), f"{request_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def export_link(ws: Workspace, request_id: str, *, ttl_s: int, now: float | None = None) -> str:
    """The signed path that downloads a fulfilled access request's export until `ttl_s` from now."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    return f"{EXPORT_ROUTE}/{request_id}?expires={expires}&signature={_signature(ws, request_id, expires)}"


def read_export(ws: Workspace, request_id: str, expires: int, signature: str) -> bytes:
    """The export a signed link names. `LinkRefused` when the signature does not match the id and expiry, or
    the link has expired; `NotFound` when the export no longer exists (the subject was erased)."""
    # As bytes: compare_digest refuses non-ASCII text, and a link's signature is whatever a client sent.
    if not hmac.compare_digest(_signature(ws, request_id, expires).encode(), signature.encode("utf-8", "replace")):
        raise LinkRefused("the export link is not valid (its signature does not match)",
                          hint="ask the assistant for your data again for a new link")
    if time.time() >= expires:
        raise LinkRefused("the export link has expired", hint="ask the assistant for your data again for a new link")
    with ws.session() as s:
        row = _row(s, request_id)
        digest = row.export_digest
    if digest is None:
        raise NotFound(f"request {request_id} has no export (not an access request, or erased since)")
    return ws.blobs.get(digest, owner=f"export of {request_id}")


# -- what requests hold about a subject (their own data-subject store) -------------------------------------


def _erase_requests(session: Session, ws: Any, subject: str) -> int:
    rows = session.scalars(sa.select(SubjectRequestRow).where(SubjectRequestRow.subject == subject)).all()
    for row in rows:
        if row.export_digest is not None:
            ws.blobs.path(row.export_digest).unlink(missing_ok=True)
        row.subject, row.export_digest = pseudonym(ws, subject), None
    return len(rows)


def _remaining_requests(session: Session, ws: Any, subject: str) -> dict[str, Any] | None:
    rows = session.scalars(sa.select(SubjectRequestRow).where(SubjectRequestRow.subject == pseudonym(ws, subject))).all()
    if not rows:
        return None
    return {"requests": [{"id": r.id, "kind": r.kind, "status": r.status, "due_at": r.due_at} for r in rows],
            "why": "each request stays, under a keyed pseudonym, as the record that it was answered and when; "
                   "any export it made is deleted"}


@subject_store("subject_requests", erase=_erase_requests, remains=_remaining_requests)
def _export_requests(session: Session, ws: Any, subject: str) -> list[dict[str, Any]]:
    """The subject's own data-subject requests: kind, status, dates."""
    rows = session.scalars(sa.select(SubjectRequestRow).where(SubjectRequestRow.subject == subject)
                           .order_by(SubjectRequestRow.opened_at)).all()
    return [{"id": r.id, "kind": r.kind, "status": r.status, "opened_at": r.opened_at, "due_at": r.due_at,
             "completed_at": r.completed_at} for r in rows]


__all__ = ["LinkRefused", "SubjectRequest", "SubjectRequestRow", "approve_request", "export_link",
           "fulfil_request", "get_request", "list_requests", "open_request", "read_export", "subject_known"]
