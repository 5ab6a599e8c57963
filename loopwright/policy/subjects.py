"""Data-subject requests: export or erase everything stored about one customer.

Each part of loopwright that keeps data about a customer registers a
`SubjectStore` with `@subject_store(name)`: `export(session, ws, subject)`
returns what it holds (JSON-ready), `erase(session, ws, subject)` erases
payloads and returns how many records it touched. Receipts' `details` are
erased, never the receipts: their digests and signatures stay, so
`audit verify` still passes. Modules with stores are listed in `STORE_MODULES`
(or exposed under the `loopwright.subject_stores` entry-point group).

    export_subject(ws, "cus_001")   # {"subject": ..., "stores": {"tool_calls": [...], ...}}
    erase_subject(ws, "cus_001")    # one transaction, one `subject.erase` receipt
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
from loopwright.registry.payloads import Erased, SubjectErase
from loopwright.registry.receipts import Receipt, append_receipt
from loopwright.store.schema import ReceiptRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

STORE_MODULES: list[str] = ["loopwright.tools.subjects", "loopwright.observe.traces"]
"""Modules whose import registers subject stores."""


@dataclass(frozen=True)
class SubjectStore:
    """What one part of loopwright holds about a subject, and how to erase it."""

    name: str
    export: Callable[[Session, Any, str], Any]
    erase: Callable[[Session, Any, str], int]
    description: str = ""


_STORES: dict[str, SubjectStore] = {}


def subject_store(name: str, *, erase: Callable[[Session, Any, str], int], description: str = ""):
    """Register the decorated `export(session, ws, subject)` and `erase` as store `name`."""

    def register(export: Callable[[Session, Any, str], Any]):
        _STORES[name] = SubjectStore(name, export, erase, description or (export.__doc__ or "").strip().split("\n")[0])
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


def export_subject(ws: Workspace, subject: str) -> dict[str, Any]:
    """Everything the registered stores hold about `subject`, read in one transaction."""
    subject = _check(subject)
    with ws.session() as s:
        return {
            "subject": subject,
            "exported_at": utc_now(),
            "stores": {name: store.export(s, ws, subject) for name, store in sorted(registered_stores().items())},
        }


def erase_subject(ws: Workspace, subject: str, *, actor: str | None = None) -> Receipt:
    """Erase `subject`'s payloads in every store, with one receipt (which names the subject only by a keyed digest)."""
    from loopwright.policy.pii import keyed_digest, pii_key

    subject = _check(subject)
    with ws.write() as s:
        counts = {name: store.erase(s, ws, subject) for name, store in sorted(registered_stores().items())}
        return append_receipt(
            s, ws, SubjectErase(after=Erased(erased=counts)),
            subject=f"subject/{keyed_digest(pii_key(ws), subject)[:16]}", actor=actor,
        )


def erase_receipt_details(session: Session, seqs: list[int]) -> int:
    """Drop the `details` of these receipts; their `details_digest` stays, so the chain verifies."""
    if not seqs:
        return 0
    result = session.execute(
        sa.update(ReceiptRow).where(ReceiptRow.seq.in_(seqs), ReceiptRow.details.is_not(None)).values(details=None)
    )
    return result.rowcount or 0
