"""The privacy agent: a customer's data-subject request in chat, as a typed tool with a confirmation.

    "what data do you hold about me?"  -> privacy_request(kind="access")    -> "Please confirm ..." + token
    token back (`confirm_token`)       -> request opened, the export made, a signed link in the response
    "delete my data" / "borra mis datos" / "xóa dữ liệu của tôi" -> privacy_request(kind="erasure") -> confirm
    token back                         -> request opened; erased now, or once staff approve
                                          (`[privacy] erasure_approval`, `loopwright subject approve`)

Why a tool: the framework already binds a "yes" to this call, this caller and
this conversation, once, before it expires (`loopwright.tools.confirmation`),
and writes the receipt in the transaction that acts. The contract requires the
confirmation (`confirm=True`) whatever the words. Whose data: the key's
subject, and only it (`_owner`): naming any other customer is refused in the
same words as a customer who does not exist, and a key's subject the register
does not know is refused as such (`_known`). The request itself, its due date
and its fulfilment live in `loopwright.policy.requests`; fulfilment runs after
the call has committed (`after_commit`), because an erase also erases the
record of this very call.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loopwright.policy.requests import export_link, fulfil_request, open_request, subject_known
from loopwright.policy.verdicts import Verdict, failed, passed
from loopwright.tools.arguments import argument_extractor
from loopwright.tools.contract import ToolContext, tool

if TYPE_CHECKING:
    from loopwright.policy.principal import Principal
    from loopwright.policy.schema import PolicySet
    from loopwright.workspace import Workspace

NAME = "privacy_request"


class PrivacyArgs(BaseModel):
    """What the customer asks for, and (only ever their own) whose data."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    kind: Literal["access", "erasure"] = Field(description="access: a copy of what is held; erasure: delete it.")
    subject: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$",
                                description="The customer the request is about; only the caller's own id is accepted.")


class PrivacyOutcome(BaseModel):
    """The request as the customer is told about it."""

    request_id: str
    kind: str
    status: str
    due_at: str
    message: str
    export_url: str | None = Field(None, description="access: the signed, expiring path of the export (never stored).")
    erase_receipt: int | None = Field(None, description="erasure: the seq of the `subject.erase` receipt.")
    erased_subject: str | None = Field(None, description="erasure done: whom, so the call's own trace is pseudonymised.")


def _owner(ctx: ToolContext, args: PrivacyArgs) -> tuple[str, str] | None:
    """The caller's own subject; None (refused, as a customer that does not exist) for anyone else."""
    me = ctx.principal.subject
    if me is None or (args.subject is not None and args.subject != me):
        return None
    return me, ctx.principal.tenant


def _known(ctx: ToolContext, args: PrivacyArgs) -> Verdict:
    if not subject_known(ctx.session, ctx.ws, ctx.customer_id, ctx.policy.privacy):
        return failed("subject", "privacy.register_stores",
                      f"there is no customer record for {ctx.customer_id}, so there is nothing to export or erase", "refuse")
    return passed("subject", "privacy.register_stores", "the customer register holds the caller")


def _fulfil(ws: Workspace, principal: Principal, policy: PolicySet, out: PrivacyOutcome) -> PrivacyOutcome:
    """Fulfil what needs no staff approval: the export (with its link) or the erase."""
    if out.status != "open":
        return out.model_copy(update={"message": (
            f"Your erasure request {out.request_id} is open and waits for a staff approval; it is due by "
            f"{out.due_at[:10]}. Nothing is erased until then.")})
    done = fulfil_request(ws, out.request_id, policy=policy, actor=f"tool:{NAME}")
    if out.kind == "access":
        link = export_link(ws, out.request_id, ttl_s=policy.privacy.link_ttl_s)
        return out.model_copy(update={"status": done.status, "export_url": link, "message": (
            f"Your data export for request {out.request_id} is ready: download it from the link in this response "
            f"(it works for {policy.privacy.link_ttl_s // 3600} hours).")})
    with ws.session() as s:
        from loopwright.policy.requests import SubjectRequestRow

        seq = s.get(SubjectRequestRow, out.request_id).completion_seq
    return out.model_copy(update={"status": done.status, "erase_receipt": seq, "erased_subject": principal.subject,
                                  "message": f"Your data has been erased (request {out.request_id})."})


@tool(NAME, roles=("customer",), owner=_owner, resource="customer record", preconditions=[_known], confirm=True,
      after_commit=_fulfil)
def privacy_request(ctx: ToolContext, args: PrivacyArgs) -> PrivacyOutcome:
    """Open a data-subject request (access or erasure) for the caller, due by the policy's deadline."""
    row = open_request(ctx.session, ctx.ws, kind=args.kind, tenant=ctx.principal.tenant, subject=ctx.customer_id,
                       opened_by=f"key/{ctx.principal.key_id or ctx.principal.tenant}", rules=ctx.policy.privacy,
                       ticket=ctx.ticket)
    ctx.after = {"request_id": row.id, "kind": row.kind, "status": row.status}
    return PrivacyOutcome(request_id=row.id, kind=row.kind, status=row.status, due_at=row.due_at,
                          message=f"Request {row.id} opened.")


def _fold(text: str) -> str:
    """Lower case without accents ("xóa" = "xoa", "qué" = "que"); đ is its own letter in Unicode."""
    text = unicodedata.normalize("NFKD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


# Words that ask to delete, per language (folded): erasure; anything else asking about one's data: access.
_ERASE = re.compile(r"\b(delet\w*|eras\w*|remov\w*|wip\w*|forget|purg\w*|borr\w*|elimin\w*|suprim\w*|olvid\w*|"
                    r"xoa|loai bo|huy)\b")
_SUBJECT = re.compile(r"\b([a-z]{2,8}_[0-9a-z]{2,16})\b")


@argument_extractor(NAME)
def _arguments(text: str) -> dict[str, Any]:
    """The kind from the customer's words (EN, ES, VI), and any customer id they name."""
    folded = _fold(text)
    args: dict[str, Any] = {"kind": "erasure" if _ERASE.search(folded) else "access"}
    named = _SUBJECT.search(folded)
    if named:
        args["subject"] = named.group(1)
    return args
