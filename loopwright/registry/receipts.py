"""Receipts: the append-only, hash-chained, Ed25519-signed audit log.

Each receipt's digest covers its fields and the previous receipt's digest, so
altering, removing or inserting any row breaks every digest after it. The
free-form `details` are hashed separately: erasing them (a data-subject
request) leaves `details_digest`, and with it the chain, intact.

What a receipt records is a typed payload (`loopwright.registry.payloads`),
one class per action; `Receipt.payload` reads it back.

Removing the newest receipts leaves a shorter chain that is whole, so each
append also signs the chain's head (its last seq and digest) into a row of its
own (`receipt_head`); `verify_chain` checks that the chain ends where the head says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loopwright.digests import canonical_json, sha256_hex, utc_now
from loopwright.errors import NotFound
from loopwright.registry.payloads import Action, Payload, parse_payload
from loopwright.store.schema import ReceiptHeadRow, ReceiptRow

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

GENESIS = "0" * 64


@dataclass(frozen=True)
class Receipt:
    """One signed record of a state change; `before`, `after` and `details` are the stored JSON values."""

    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    details: Any
    digest: str
    prev_digest: str
    signature: str
    key_id: str

    @property
    def id(self) -> str:
        """The short identifier shown to people: `rc-` and the first 12 hex digits of the digest."""
        return f"rc-{self.digest[:12]}"

    @cached_property
    def payload(self) -> Payload | None:
        """The typed payload of the receipt's action; None for an action no loaded module declares."""
        return parse_payload(self.action, self.before, self.after, self.details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "details": self.details,
            "digest": self.digest,
            "prev_digest": self.prev_digest,
            "signature": self.signature,
            "key_id": self.key_id,
        }


def _body_digest(row: ReceiptRow) -> str:
    return sha256_hex(
        canonical_json(
            {
                "seq": row.seq,
                "ts": row.ts,
                "actor": row.actor,
                "action": row.action,
                "subject": row.subject,
                "before": row.before,
                "after": row.after,
                "details_digest": row.details_digest,
                "prev_digest": row.prev_digest,
            }
        )
    )


def append_receipt(session: Session, ws: Workspace, payload: Payload, *, subject: str, actor: str | None = None) -> Receipt:
    """Append a signed receipt of `payload` about `subject` inside the caller's write transaction (see `Workspace.write`).

    The caller holds the store's write lock, so reading the chain head and
    inserting the next link cannot interleave with another writer. The next
    link follows the signed head, not the newest row: after rows are removed
    from the end, the gap stays visible instead of being written over.
    """
    head = session.get(ReceiptHeadRow, 1) or session.execute(
        sa.select(ReceiptRow.seq, ReceiptRow.digest).order_by(ReceiptRow.seq.desc()).limit(1)
    ).first()  # no signed head yet: a chain written before heads were kept
    parts = payload.parts()
    details_text = canonical_json(parts["details"])
    row = ReceiptRow(
        seq=(head.seq + 1) if head else 1,
        ts=utc_now(),
        actor=actor or ws.actor,
        action=payload.action_name,
        subject=subject,
        before=canonical_json(parts["before"]),
        after=canonical_json(parts["after"]),
        details=details_text,
        details_digest=sha256_hex(details_text),
        prev_digest=head.digest if head else GENESIS,
        key_id=ws.signer.key_id,
    )
    row.digest = _body_digest(row)
    row.signature = ws.signer.sign(row.digest)
    session.add(row)
    _sign_head(session, ws, row.seq, row.digest)
    session.flush()
    return _to_receipt(row)


def _head_digest(seq: int, digest: str) -> str:
    return sha256_hex(canonical_json({"head_seq": seq, "head_digest": digest}))


def _sign_head(session: Session, ws: Workspace, seq: int, digest: str) -> None:
    """Move the signed head to receipt `seq`, in the transaction that appends it."""
    head = session.get(ReceiptHeadRow, 1)
    if head is None:
        head = ReceiptHeadRow(id=1)
        session.add(head)
    head.seq, head.digest, head.key_id = seq, digest, ws.signer.key_id
    head.signature = ws.signer.sign(_head_digest(seq, digest))


def _to_receipt(row: ReceiptRow) -> Receipt:
    return Receipt(
        seq=row.seq,
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        before=json.loads(row.before),
        after=json.loads(row.after),
        details=json.loads(row.details) if row.details is not None else None,
        digest=row.digest,
        prev_digest=row.prev_digest,
        signature=row.signature,
        key_id=row.key_id,
    )


def list_receipts(
    session: Session, *, subject: str | None = None, action: Action | str | None = None, limit: int | None = None
) -> list[Receipt]:
    """Receipts oldest first; `subject` matches exactly or as a prefix ending in `@` or `/`."""
    query = sa.select(ReceiptRow).order_by(ReceiptRow.seq)
    if subject:
        query = query.where(sa.or_(ReceiptRow.subject == subject, ReceiptRow.subject.startswith(subject + "@")))
    if action:
        query = query.where(ReceiptRow.action == action)
    rows = session.scalars(query).all()
    if limit is not None:
        rows = rows[-limit:]
    return [_to_receipt(r) for r in rows]


def get_receipt(session: Session, ident: str) -> Receipt:
    """A receipt by its `rc-` id, digest prefix or sequence number."""
    key = ident.removeprefix("rc-")
    if key.isdigit() and len(key) < 12:
        row = session.get(ReceiptRow, int(key))
    else:
        rows = session.scalars(sa.select(ReceiptRow).where(ReceiptRow.digest.startswith(key.lower())).limit(2)).all()
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise NotFound(f"no receipt {ident!r}", hint="`loopwright audit log` lists them")
    return _to_receipt(row)


@dataclass(frozen=True)
class ChainReport:
    """The result of `verify_chain`: whole, or the first broken receipt and why."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "broken_seq": self.broken_seq,
            "broken_id": self.broken_id,
            "reason": self.reason,
        }


def _iter_rows(session: Session) -> Iterator[ReceiptRow]:
    yield from session.scalars(sa.select(ReceiptRow).order_by(ReceiptRow.seq).execution_options(yield_per=1000))


def verify_chain(session: Session, ws: Workspace) -> ChainReport:
    """Recompute every digest, link and signature, oldest first; stop at the first break."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in _iter_rows(session):
        problem = None
        if row.seq != expected_seq:
            problem = f"sequence jumps from {expected_seq - 1} to {row.seq} (a receipt was removed)"
        elif row.prev_digest != prev:
            problem = "does not link to the previous receipt"
        elif row.details is not None and sha256_hex(row.details) != row.details_digest:
            problem = "details were altered"
        elif _body_digest(row) != row.digest:
            problem = "fields were altered (digest mismatch)"
        elif row.key_id != ws.signer.key_id or not ws.signer.verify(row.digest, row.signature):
            problem = "signature is not valid for the workspace key"
        if problem:
            return ChainReport(False, checked, row.seq, f"rc-{row.digest[:12]}", problem)
        prev, expected_seq, checked = row.digest, expected_seq + 1, checked + 1
    problem = _tail_problem(session.get(ReceiptHeadRow, 1), ws, checked, prev)
    if problem:
        return ChainReport(False, checked, checked, f"rc-{prev[:12]}" if checked else None, problem)
    return ChainReport(True, checked)


def _tail_problem(head: ReceiptHeadRow | None, ws: Workspace, last_seq: int, last_digest: str) -> str | None:
    """Why the chain's end disagrees with its signed head, or None."""
    if head is None:
        return "the signed chain head is missing" if last_seq else None
    if head.key_id != ws.signer.key_id or not ws.signer.verify(_head_digest(head.seq, head.digest), head.signature):
        return "the chain head's signature is not valid for the workspace key"
    if head.seq != last_seq or head.digest != last_digest:
        return f"the chain ends at receipt {last_seq} but its signed head names receipt {head.seq} (receipts removed from the end)"
    return None
