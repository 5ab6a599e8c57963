"""Load the sample bank's customers, accounts, cards and transactions into the book-of-record tables.

Card and account numbers are not stored: their last four digits and a keyed
digest are (so "my card is 4000..." can be matched without keeping it). Names,
contact details and birth dates stay in the sample's restricted dataset
artifact; the tools do not need them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.policy.pii import keyed_digest, pii_key
from loopwright.registry.payloads import Part, Payload
from loopwright.registry.receipts import append_receipt
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.tools.schema import BankAccountRow, BankCardRow, BankCustomerRow, BankTransactionRow
from loopwright.store.plugins import upgrade_plugin

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

log = logging.getLogger(__name__)


class BookCounts(Part):
    """Rows loaded, per table."""

    customers: int
    accounts: int
    cards: int
    transactions: int


class BankLoad(Payload):
    """The sample bank's book of record loaded (a plugin's own receipt, under the plugin's prefix)."""

    action = "bank.load"
    after: BookCounts


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def install_book_schema(ws: Workspace) -> None:
    """Create the book's tables in `ws` (the plugin's own migration); a no-op once they are there."""
    from loopwright.samples.bank.migrations import SCHEMA

    upgrade_plugin(ws.engine, SCHEMA)


def load_bank_book(ws: Workspace, folder: Path | None = None) -> dict[str, int]:
    """Create the book's tables and load `customers/accounts/cards/transactions.jsonl` from `folder` (the sample's data by default)."""
    folder = folder or DATA_DIR
    return load_records(
        ws,
        customers=_jsonl(folder / "customers.jsonl"),
        accounts=_jsonl(folder / "accounts.jsonl"),
        cards=_jsonl(folder / "cards.jsonl"),
        transactions=_jsonl(folder / "transactions.jsonl"),
    )


def load_records(
    ws: Workspace,
    *,
    customers: Iterable[dict[str, Any]],
    accounts: Iterable[dict[str, Any]],
    cards: Iterable[dict[str, Any]],
    transactions: Iterable[dict[str, Any]],
) -> dict[str, int]:
    """Create the book's tables if needed, insert the records with one receipt; a book already loaded is left as it is (returns {})."""
    install_book_schema(ws)
    key = pii_key(ws)
    rows: list[Any] = [BankCustomerRow(id=c["id"], tenant=c["tenant"]) for c in customers]
    counts = {"customers": len(rows)}
    more = [
        BankAccountRow(id=a["id"], customer_id=a["customer_id"], type=a["type"], last4=a["number"][-4:],
                       number_digest=keyed_digest(key, a["number"]), balance_cents=a["balance_cents"])
        for a in accounts
    ]
    counts["accounts"] = len(more)
    rows += more
    more = [
        BankCardRow(id=c["id"], customer_id=c["customer_id"], last4=c["last4"],
                    pan_digest=keyed_digest(key, c["token"]), status=c.get("status", "active"))
        for c in cards
    ]
    counts["cards"] = len(more)
    rows += more
    more = [
        BankTransactionRow(id=t["id"], card_id=t["card_id"], merchant=t["merchant"], amount_cents=t["amount_cents"],
                           posted_date=t["posted_date"], statement_date=t["statement_date"])
        for t in transactions
    ]
    counts["transactions"] = len(more)
    rows += more
    with ws.write() as s:
        if s.scalar(sa.select(sa.func.count()).select_from(BankCustomerRow)):
            log.info("the bank book is already loaded; nothing done")
            return {}
        # Parents first: the foreign keys are checked row by row on SQLite.
        for group in (BankCustomerRow, BankAccountRow, BankCardRow, BankTransactionRow):
            s.add_all([r for r in rows if isinstance(r, group)])
            s.flush()
        append_receipt(s, ws, BankLoad(after=BookCounts(**counts)), subject="bank/book")
    return counts
