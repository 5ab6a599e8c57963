"""Data-subject requests: export or erase everything stored about one customer.

Each part of loopwright that keeps data about a customer registers a
`SubjectStore` with `@subject_store(name)`: `export(session, ws, subject)`
returns what it holds (JSON-ready), `erase(session, ws, subject)` erases
payloads and returns how many records it touched, and the optional
`remains(session, ws, subject)` says what an erase left and why. Receipts'
`details` are erased, never the receipts: their digests and signatures stay,
so `audit verify` still passes. Modules with stores are listed in
`STORE_MODULES` (or exposed under the `loopwright.subject_stores` entry-point group).

    export_subject(ws, "cus_001")   # {"subject": ..., "stores": {...}, "remains": {...}}
    erase_subject(ws, "cus_001")    # one transaction, one `subject.erase` receipt, then a WAL checkpoint

The subject's API keys are revoked by the erase (store `api_keys`, below).
On SQLite, freed pages are zeroed (`secure_delete`) and the erase ends with a
`wal_checkpoint(TRUNCATE)`, so the old rows leave the write-ahead log too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import utc_now
from loopwright.errors import InvalidInput
from loopwright.plugins import load_plugins
from loopwright.registry.payloads import Erased, KeyOwner, KeyRevoke, Reason, SubjectErase
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.store.engine import checkpoint_wal
from loopwright.store.schema import ApiKeyRow, ReceiptRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

STORE_MODULES: list[str] = ["loopwright.tools.subjects", "loopwright.observe.traces", "loopwright.policy.requests"]
"""Modules whose import registers subject stores."""


@dataclass(frozen=True)
class SubjectStore:
    """What one part of loopwright holds about a subject, and how to erase it."""

    name: str
    export: Callable[[Session, Any, str], Any]
    erase: Callable[[Session, Any, str], int]
    description: str = ""
    remains: Callable[[Session, Any, str], Any] | None = None


_STORES: dict[str, SubjectStore] = {}


def subject_store(
    name: str,
    *,
    erase: Callable[[Session, Any, str], int],
    remains: Callable[[Session, Any, str], Any] | None = None,
    description: str = "",
):
    """Register the decorated `export(session, ws, subject)`, `erase` and `remains` as store `name`."""

    def register(export: Callable[[Session, Any, str], Any]):
        first_line = description or (export.__doc__ or "").strip().split("\n")[0]
        _STORES[name] = SubjectStore(name, export, erase, first_line, remains)
        return export

    return register


def registered_stores() -> dict[str, SubjectStore]:
    load_plugins("loopwright.subject_stores", builtins=STORE_MODULES)
    return dict(_STORES)


def _check(subject: str) -> str:
    subject = subject.strip()
    if not subject or len(subject) > 100:
        raise InvalidInput(f"invalid subject id {subject!r}", hint="a customer id such as cus_001")
    return subject


def pseudonym(ws: Workspace, subject: str) -> str:
    """What erased records call `subject`: a keyed digest only this workspace can link back to the id."""
    from loopwright.policy.pii import keyed_digest, pii_key

    return f"erased-{keyed_digest(pii_key(ws), subject)[:16]}"


def export_subject(ws: Workspace, subject: str) -> dict[str, Any]:
    """Everything the registered stores hold about `subject`, read in one transaction, and what an erase left and why."""
    subject = _check(subject)
    with ws.session() as s:
        stores = sorted(registered_stores().items())
        remains = {name: store.remains(s, ws, subject) for name, store in stores if store.remains is not None}
        remains["receipts"] = _remaining_receipts(s, ws, subject)
        return {
            "subject": subject,
            "exported_at": utc_now(),
            "stores": {name: store.export(s, ws, subject) for name, store in stores},
            "remains": {name: what for name, what in remains.items() if what},
        }


def erase_subject(ws: Workspace, subject: str, *, actor: str | None = None) -> Receipt:
    """Erase `subject`'s payloads in every store, with one receipt (which names the subject only by a keyed digest)."""
    with ws.write() as s:
        receipt = erase_in(s, ws, subject, actor=actor)
    checkpoint_wal(ws.engine)
    return receipt


def erase_in(session: Session, ws: Workspace, subject: str, *, actor: str | None = None) -> Receipt:
    """`erase_subject` inside the caller's write transaction (a data-subject request marks itself fulfilled in
    the same one); the caller checkpoints the WAL after it commits."""
    subject = _check(subject)
    counts = {name: store.erase(session, ws, subject) for name, store in sorted(registered_stores().items())}
    return append_receipt(
        session, ws, SubjectErase(after=Erased(erased=counts)),
        subject=f"subject/{pseudonym(ws, subject).removeprefix('erased-')}", actor=actor,
    )


def erase_receipt_details(session: Session, seqs: list[int]) -> int:
    """Drop the `details` of these receipts; their `details_digest` stays, so the chain verifies."""
    if not seqs:
        return 0
    result = session.execute(
        sa.update(ReceiptRow).where(ReceiptRow.seq.in_(seqs), ReceiptRow.details.is_not(None)).values(details=None)
    )
    return result.rowcount or 0


def _erase_keys(session: Session, ws: Any, subject: str) -> int:
    """Revoke the subject's active API keys, each with a `key.revoke` receipt."""
    rows = session.scalars(sa.select(ApiKeyRow).where(ApiKeyRow.subject == subject, ApiKeyRow.revoked_at.is_(None))).all()
    now = utc_now()
    for row in rows:
        row.revoked_at = now
        append_receipt(session, ws, KeyRevoke(before=KeyOwner(tenant=row.tenant, role=row.role), after=Reason(reason="subject erase")),
                       subject=f"key/{row.id}")
    return len(rows)


def _remaining_keys(session: Session, ws: Any, subject: str) -> dict[str, Any] | None:
    rows = session.scalars(sa.select(ApiKeyRow).where(ApiKeyRow.subject == subject).order_by(ApiKeyRow.id)).all()
    if not rows or any(r.revoked_at is None for r in rows):
        return None  # nothing erased yet: the keys are in the export itself
    return {"key_ids": [r.id for r in rows],
            "why": "revoked keys keep their id and hash so a revoked key is recognised and refused, never reissued"}


def _remaining_receipts(session: Session, ws: Any, subject: str) -> dict[str, Any] | None:
    """The `subject.erase` receipts of this subject (found by its keyed digest)."""
    erased = session.scalars(
        sa.select(ReceiptRow).where(ReceiptRow.action == "subject.erase",
                                    ReceiptRow.subject == f"subject/{pseudonym(ws, subject).removeprefix('erased-')}")
    ).all()
    if not erased:
        return None
    return {"receipts": [{"id": f"rc-{r.digest[:12]}", "seq": r.seq, "digest": r.digest} for r in erased],
            "why": "the erase's own receipt stays in the signed chain; it names you by a keyed digest only"}


@subject_store("api_keys", erase=_erase_keys, remains=_remaining_keys)
def _export_keys(session: Session, ws: Any, subject: str) -> list[dict[str, Any]]:
    """The subject's API keys: id, tenant, role, created and revoked times (never the secret, which is not stored)."""
    rows = session.scalars(sa.select(ApiKeyRow).where(ApiKeyRow.subject == subject).order_by(ApiKeyRow.id)).all()
    return [{"id": r.id, "tenant": r.tenant, "role": r.role, "created_at": r.created_at, "revoked_at": r.revoked_at}
            for r in rows]
