"""The bank tools' contracts: models, owners, preconditions and what each does."""

from __future__ import annotations

from datetime import date
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from loopwright.digests import utc_now
from loopwright.policy.verdicts import Verdict, failed, passed
from loopwright.samples.bank.tools.schema import (
    BankCardRow,
    BankCustomerRow,
    BankDisputeRow,
    BankEscalationRow,
    BankTransactionRow,
)
from loopwright.samples.bank.tools.words import CANCEL_DISPUTE, DISPUTE, FREEZE, UNFREEZE
from loopwright.tools.contract import ToolContext, tool

CUSTOMER_ROLES = ("customer", "agent", "admin")


class _Args(BaseModel):
    # Unknown fields are refused: "customer_id", "confirmed" or "override" smuggled into
    # arguments by a message or a retrieved text is malformed input, not a hint to follow.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CardRef(_Args):
    """Which card: its id, or the last four digits of its number (unique in the sample bank)."""

    card_id: str | None = Field(None, pattern=r"^card_\d{1,6}$", description="The card's id, e.g. card_001.")
    last4: str | None = Field(None, pattern=r"^\d{4}$", description="The last four digits of the card number.")

    @model_validator(mode="after")
    def _exactly_one(self) -> CardRef:
        if (self.card_id is None) == (self.last4 is None):
            raise ValueError("give exactly one of card_id or last4")
        return self


class CardState(BaseModel):
    """A card after the call."""

    card_id: str
    last4: str
    status: Literal["active", "frozen"]
    message: str


def _card(ctx: ToolContext, args: CardRef) -> BankCardRow | None:
    query = sa.select(BankCardRow)
    query = query.where(BankCardRow.id == args.card_id) if args.card_id else query.where(BankCardRow.last4 == args.last4)
    return ctx.session.scalars(query.limit(1)).first()


def card_owner(ctx: ToolContext, args: CardRef) -> tuple[str, str] | None:
    card = _card(ctx, args)
    if card is None:
        return None
    customer = ctx.session.get(BankCustomerRow, card.customer_id)
    return (card.customer_id, customer.tenant) if customer else None


def _card_in(status: str, rule: str):
    def check(ctx: ToolContext, args: CardRef) -> Verdict:
        card = _card(ctx, args)
        if card.status != status:
            return failed("card_state", rule, f"card ending {card.last4} is {card.status}, not {status}", "conflict")
        return passed("card_state", rule, f"card ending {card.last4} is {status}")

    check.__name__ = f"card_is_{status}"
    return check


def _set_status(ctx: ToolContext, args: CardRef, status: str, message: str) -> CardState:
    card = _card(ctx, args)
    ctx.before = {"card_id": card.id, "status": card.status}
    card.status, card.updated_at = status, utc_now()
    ctx.after = {"card_id": card.id, "status": status}
    return CardState(card_id=card.id, last4=card.last4, status=status, message=message)


@tool("freeze_card", roles=CUSTOMER_ROLES, scopes=("retail",), owner=card_owner, resource="card",
      preconditions=[_card_in("active", "tools.freeze_card.active_only")], opposite="unfreeze_card", words=FREEZE)
def freeze_card(ctx: ToolContext, args: CardRef) -> CardState:
    """Temporarily lock a card: new purchases and withdrawals are declined until it is unfrozen."""
    return _set_status(ctx, args, "frozen", "Card frozen. New purchases will be declined until you unfreeze it.")


@tool("unfreeze_card", roles=CUSTOMER_ROLES, scopes=("retail",), owner=card_owner, resource="card",
      preconditions=[_card_in("frozen", "tools.unfreeze_card.frozen_only")], opposite="freeze_card", words=UNFREEZE)
def unfreeze_card(ctx: ToolContext, args: CardRef) -> CardState:
    """Unlock a frozen card."""
    return _set_status(ctx, args, "active", "Card unfrozen. It works again for purchases and withdrawals.")


class DisputeSettings(BaseModel):
    """`[tools.settings.open_dispute]`: the dispute rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(60, strict=True, ge=1, le=540, description="A dispute must be opened within this many days of the statement date.")
    provisional_credit_over_cents: int = Field(
        2500, strict=True, ge=0, description="Disputes above this amount (in cents) get a provisional credit while they are investigated."
    )
    provisional_credit_business_days: int = Field(10, strict=True, ge=1, le=60, description="Business days until a provisional credit posts.")


class DisputeArgs(_Args):
    """A card transaction to dispute."""

    transaction_id: str = Field(pattern=r"^txn_\d{1,8}$", description="The transaction's id, e.g. txn_0261 (required).")
    category: Literal["not_received", "duplicate", "unrecognized", "wrong_amount", "other"] = Field(
        "other", description="Why the charge is disputed."
    )
    reason: str | None = Field(None, max_length=500, description="The customer's words (personal data is masked).")


class DisputeOpened(BaseModel):
    dispute_id: str
    transaction_id: str
    amount_cents: int
    statement_date: date
    deadline: date
    provisional_credit_cents: int
    message: str


def _transaction(ctx: ToolContext, args: DisputeArgs) -> BankTransactionRow | None:
    return ctx.session.get(BankTransactionRow, args.transaction_id)


def transaction_owner(ctx: ToolContext, args: DisputeArgs) -> tuple[str, str] | None:
    txn = _transaction(ctx, args)
    if txn is None:
        return None
    card = ctx.session.get(BankCardRow, txn.card_id)
    customer = ctx.session.get(BankCustomerRow, card.customer_id)
    return card.customer_id, customer.tenant


def within_window(ctx: ToolContext, args: DisputeArgs) -> Verdict:
    txn = _transaction(ctx, args)
    settings: DisputeSettings = ctx.settings
    statement = date.fromisoformat(txn.statement_date)
    age = (ctx.today - statement).days
    rule = "tools.settings.open_dispute.window_days"
    if age > settings.window_days:
        return failed("dispute_window", rule,
                      f"statement of {statement.isoformat()} is {age} days old; disputes must be opened within "
                      f"{settings.window_days} days of the statement date", "refuse")
    return passed("dispute_window", rule, f"statement of {statement.isoformat()} is {age} days old (limit {settings.window_days})")


def one_open_dispute(ctx: ToolContext, args: DisputeArgs) -> Verdict:
    rule = "tools.open_dispute.one_open_per_transaction"
    existing = ctx.session.scalars(sa.select(BankDisputeRow).where(BankDisputeRow.open_key == args.transaction_id)).first()
    if existing is not None:
        return failed("dispute_open", rule, f"{args.transaction_id} already has an open dispute ({existing.id})", "refuse")
    return passed("dispute_open", rule, f"no open dispute on {args.transaction_id}")


def dispute_key(args: DisputeArgs) -> str:
    """Asking twice to dispute one transaction is one dispute: the second ask gets the first receipt."""
    return f"dispute:{args.transaction_id}"


@tool("open_dispute", roles=CUSTOMER_ROLES, scopes=("retail",), owner=transaction_owner, resource="transaction",
      preconditions=[within_window, one_open_dispute], idempotency=dispute_key, confirm=True, settings=DisputeSettings,
      opposite="cancel_dispute", words=DISPUTE, opposite_words=CANCEL_DISPUTE)
def open_dispute(ctx: ToolContext, args: DisputeArgs) -> DisputeOpened:
    """Open a dispute on a card transaction (within the window from its statement date; one open per transaction)."""
    settings: DisputeSettings = ctx.settings
    txn = _transaction(ctx, args)
    statement = date.fromisoformat(txn.statement_date)
    credit = txn.amount_cents if txn.amount_cents > settings.provisional_credit_over_cents else 0
    dispute_id = f"dsp_{ctx.ticket.removeprefix('tk_')}"
    ctx.session.add(BankDisputeRow(
        id=dispute_id, transaction_id=txn.id, open_key=txn.id, customer_id=ctx.customer_id, ticket=ctx.ticket,
        category=args.category, reason=args.reason and _mask(args.reason), amount_cents=txn.amount_cents,
        provisional_credit_cents=credit, status="open", opened_at=utc_now(),
    ))
    ctx.before = {"transaction_id": txn.id, "dispute": None}
    ctx.after = {"transaction_id": txn.id, "dispute": dispute_id, "status": "open"}
    over = settings.provisional_credit_over_cents
    message = (
        f"Dispute {dispute_id} opened for ${txn.amount_cents / 100:,.2f}. As it is over ${over / 100:,.2f}, a provisional "
        f"credit of ${credit / 100:,.2f} posts within {settings.provisional_credit_business_days} business days."
        if credit else
        f"Dispute {dispute_id} opened for ${txn.amount_cents / 100:,.2f}. Amounts of ${over / 100:,.2f} or less get no "
        "provisional credit while investigated."
    )
    from datetime import timedelta

    return DisputeOpened(
        dispute_id=dispute_id, transaction_id=txn.id, amount_cents=txn.amount_cents, statement_date=statement,
        deadline=statement + timedelta(days=settings.window_days), provisional_credit_cents=credit, message=message,
    )


class EscalationArgs(_Args):
    """Hand the conversation to a person."""

    reason: str = Field(min_length=1, max_length=500, description="What the customer needs (personal data is masked).")
    priority: Literal["normal", "urgent"] = Field("normal", description="`urgent` for fraud or a lost card.")


class Escalated(BaseModel):
    ticket: str
    priority: str
    message: str


def needs_subject(ctx: ToolContext, args: EscalationArgs) -> Verdict:
    rule = "tools.escalate_to_human.subject"
    if not ctx.principal.subject or ctx.session.get(BankCustomerRow, ctx.principal.subject) is None:
        return failed("escalation", rule, "the caller is not a known customer", "refuse")
    return passed("escalation", rule, "the caller is a known customer")


@tool("escalate_to_human", roles=CUSTOMER_ROLES, preconditions=[needs_subject])
def escalate_to_human(ctx: ToolContext, args: EscalationArgs) -> Escalated:
    """Queue the conversation for a contact-centre agent."""
    ctx.session.add(BankEscalationRow(
        ticket=ctx.ticket, customer_id=ctx.customer_id, tenant=ctx.principal.tenant, reason=_mask(args.reason),
        priority=args.priority, status="queued", opened_at=utc_now(),
    ))
    ctx.before, ctx.after = None, {"escalation": ctx.ticket, "status": "queued", "priority": args.priority}
    wait = "within 15 minutes" if args.priority == "urgent" else "within one business day"
    return Escalated(ticket=ctx.ticket, priority=args.priority, message=f"An agent will pick this up {wait}.")


def _mask(text: str) -> str:
    from loopwright.policy.pii import PiiVault, mask_text

    return mask_text(text, None, PiiVault()).text
