"""Retail product documents in English: FlexPay, savings, checking, cards, fees.

Also the stale and draft documents that retrieval must not answer from.
"""

from datetime import date

from loopwright.samples.bank.documents.model import Doc

POLICY = "Larkspur Product Policy Office"
DEPOSITS = "Larkspur Deposit Products"
CARDS = "Larkspur Card Services"


def documents() -> list[Doc]:
    """The product documents, current, retired, stale and draft."""
    return [
        Doc(
            id="flexpay-2-0",
            title="FlexPay 2.0 installment plans",
            effective_date=date(2026, 9, 1),
            certified=False,
            source=POLICY,
            body="""
FlexPay 2.0 lets you split an eligible card purchase into equal monthly
installments. It replaces FlexPay 1.0 for every plan opened on or after
2026-09-01.

## Which purchases qualify

FlexPay 2.0 covers card purchases of $100 to $5,000. Cash advances, balance
transfers, wires and fees cannot be split.

## Plan lengths and APR

You choose 3, 6, 12 or 24 monthly installments.

| Installments | APR | Setup fee |
|---|---|---|
| 3 months | 0% APR | none |
| 6 months | 0% APR | none |
| 12 months | 9.9% APR | none |
| 24 months | 9.9% APR | none |

Plans of 3 and 6 months are interest-free at 0% APR. Plans of 12 and 24
months carry 9.9% APR, charged on the remaining plan balance.

## Fees and limits

- There is no setup fee to open a plan.
- A $15 late fee applies when an installment is not paid by its due date.
- You can have at most 4 active plans at a time.
- Paying a plan off early is free.

## How to start a plan

Open the purchase in the Larkspur app, choose "Split with FlexPay" and pick a
plan length. The first installment is due on your next statement.
""",
        ),
        Doc(
            id="flexpay-1-0",
            title="FlexPay 1.0 installment plans",
            effective_date=date(2025, 3, 1),
            retired_date=date(2026, 8, 31),
            source=POLICY,
            body="""
FlexPay 1.0 is retired. It applies only to plans opened before 2026-09-01.

## Terms

| Item | Term |
|---|---|
| Eligible purchases | $200 to $2,000 |
| Installments | 3, 6 or 9 |
| Monthly fee | 1.5% of the original purchase |

The 1.5% monthly fee is charged with each installment in place of interest.
""",
        ),
        Doc(
            id="savings-rates-2026-10",
            title="Savings rates effective 2026-10-01",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
These rates apply from 2026-10-01 until a new rates table is published.

| Account | Balance tier | APY |
|---|---|---|
| Larkspur Saver | all balances | 3.80% APY |
| Goal Saver | up to $10,000 | 4.10% APY |
| Goal Saver | portion above $10,000 | 1.00% APY |

## How the Goal Saver tiers work

Goal Saver pays 4.10% APY on the first $10,000 and 1.00% APY on the portion
of the balance above $10,000. A $15,000 balance earns 4.10% on $10,000 and
1.00% on $5,000.

## Notes

- APY means annual percentage yield. Rates are variable and may change.
- Interest is compounded daily and paid monthly.
- There is no monthly fee on either savings account.
""",
        ),
        Doc(
            id="larkspur-saver",
            title="Larkspur Saver account",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Larkspur Saver is our everyday savings account.

## At a glance

- Rate: 3.80% APY on all balances (see the savings rates table).
- Opening deposit: $0.
- Monthly fee: none.
- Transfers to and from Everyday Checking are instant.

## Who it suits

Larkspur Saver suits money you may need at short notice. For a savings goal
under $10,000, Goal Saver pays a higher rate.
""",
        ),
        Doc(
            id="goal-saver",
            title="Goal Saver account",
            effective_date=date(2026, 10, 1),
            source=DEPOSITS,
            body="""
Goal Saver rewards saving toward a target.

## Rates

| Balance | APY |
|---|---|
| up to $10,000 | 4.10% APY |
| above $10,000 | 1.00% APY |

## Rules

- Up to 6 withdrawals per month; a seventh withdrawal moves the account to
  Larkspur Saver terms for that month.
- You can name a goal and a target date in the app.
- Opening deposit: $0. Monthly fee: none.
""",
        ),
        Doc(
            id="everyday-checking",
            title="Everyday Checking account",
            effective_date=date(2026, 7, 1),
            source=DEPOSITS,
            body="""
Everyday Checking is Larkspur's standard checking account.

## Monthly maintenance fee

The monthly maintenance fee is $5. It is waived in any month in which one of
these is true:

- a minimum daily balance of $500;
- at least $250 in direct deposits;
- the primary owner is under 25.

## Features

- A Larkspur debit card with instant freeze in the app.
- Direct deposit up to 2 days early.
- Free transfers with Larkspur Send.
- Minimum opening deposit: $25.
""",
        ),
        Doc(
            id="fee-schedule",
            title="Consumer fee schedule",
            effective_date=date(2026, 7, 1),
            source=POLICY,
            body="""
This schedule lists every fee on Larkspur consumer deposit accounts and debit
cards.

| Service | Fee |
|---|---|
| Everyday Checking monthly maintenance | $5 (waivable) |
| Overdraft | $29, at most 2 per day |
| Overdraft transfer from savings | $0 |
| Out-of-network ATM | $2.50 |
| Foreign transaction | 3% of the amount |
| Stop payment | $30 |
| Domestic wire, outgoing | $25 |
| International wire, outgoing | $45 |
| Incoming domestic wire | $0 |
| Incoming international wire | $15 |
| Paper statement | $2 per month |
| Cashier's check | $10 |
| Expedited card replacement | $25 |

## Waivers

- The $5 monthly maintenance fee is waived with a $500 minimum daily balance
  or $250 in monthly direct deposits.
- No overdraft fee is charged when the account is overdrawn by $50 or less.
""",
        ),
        Doc(
            id="overdraft-options",
            title="Overdraft options",
            effective_date=date(2026, 7, 1),
            source=DEPOSITS,
            body="""
## Overdraft transfer

Link a Larkspur savings account and we move money to cover a shortfall, free
of charge.

## Standard overdraft coverage

If we pay an item that overdraws your account, the overdraft fee is $29, at
most 2 per day. No fee is charged when you are overdrawn by $50 or less.

## Opting out

You can opt out of overdraft coverage for debit card purchases in the app
under Settings, Overdraft. Declined purchases carry no fee.
""",
        ),
        Doc(
            id="debit-card-limits",
            title="Debit card limits",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
| Limit | Amount per day |
|---|---|
| ATM withdrawals | $500 |
| Purchases | $3,000 |
| Larkspur Send | $2,500 |

Limits reset at midnight Eastern. A temporary increase can be requested from
a branch or by phone; it lasts 24 hours.
""",
        ),
        Doc(
            id="travel-and-foreign-use",
            title="Using your card abroad",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
You do not need to tell us before you travel; our fraud monitoring
recognises travel patterns.

## Fees abroad

- Foreign transaction fee: 3% of the amount of each purchase or withdrawal
  made in a foreign currency or processed outside the United States.
- Out-of-network ATM fee: $2.50, plus any fee the ATM owner charges.

## If your card is declined abroad

Check that your card is not frozen in the app, then call the number on the
back of your card.
""",
        ),
        Doc(
            id="card-freeze",
            title="Freezing and unfreezing your card",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
A freeze is a temporary lock you control. Use it when your card is misplaced
or you want to pause spending.

## How a freeze works

- Freezing is instant, through the app or the assistant.
- A frozen card blocks new purchases, ATM withdrawals and new online
  payments.
- A freeze does not block recurring payments already authorised, such as a
  StreamBox subscription or a utility bill on autopay.

## Who can freeze a card

For your security, only the cardholder can freeze or unfreeze their own card.
A joint account holder or an authorised user cannot freeze a card that is not
theirs.

## Unfreezing

Unfreezing is also instant: turn off Freeze card in the app, or ask the
assistant. If your card is lost or stolen, report it instead so we can send a
replacement.

| Action | Where | Takes effect |
|---|---|---|
| Freeze | app or assistant | instant |
| Unfreeze | app or assistant | instant |
| Report lost or stolen | app, assistant or phone | instant, card replaced |
""",
        ),
        Doc(
            id="lost-stolen-cards",
            title="Lost or stolen cards",
            effective_date=date(2026, 7, 15),
            source=CARDS,
            body="""
If your card is lost or stolen, report it straight away. The assistant
freezes the card at once and an agent orders a replacement.

## Replacement

| Delivery | Time | Fee |
|---|---|---|
| Standard | 5 to 7 business days | $0 |
| Expedited | 2 business days | $25 |

## Your liability

Larkspur's zero liability promise covers unauthorised purchases reported
promptly. You are not responsible for purchases you did not make.

## Found it?

If you find the card before reporting it lost, unfreeze it in the app. Once a
card is reported lost it stays blocked for good.
""",
        ),
        Doc(
            id="rewards-checking-2025",
            title="Rewards Checking rates",
            effective_date=date(2025, 5, 1),
            source=DEPOSITS,
            body="""
Rewards Checking pays 1.25% APY on balances up to $15,000 in any month with at
least 12 debit card purchases.

| Balance | APY |
|---|---|
| up to $15,000 | 1.25% APY |
| above $15,000 | 0.10% APY |
""",
        ),
        Doc(
            id="check-ordering-2025",
            title="Ordering checks",
            effective_date=date(2025, 11, 1),
            source=DEPOSITS,
            body="""
Order checks in online banking under Services, Order checks.

| Item | Price |
|---|---|
| Box of 100 standard checks | $18 |
| Box of 100 duplicate checks | $24 |

Checks arrive in 7 to 10 business days.
""",
        ),
        Doc(
            id="credit-card-rewards-draft",
            title="Larkspur Rewards credit card (draft)",
            effective_date=date(2026, 11, 15),
            certified=False,
            source=CARDS,
            body="""
DRAFT for review. Not approved for customers.

The proposed Larkspur Rewards credit card earns 3 points per dollar on
groceries and 1 point per dollar on everything else.

| Category | Points per dollar |
|---|---|
| Groceries | 3 points |
| Everything else | 1 point |
""",
        ),
        Doc(
            id="goal-saver-boost-draft",
            title="Goal Saver Boost promotion (draft)",
            effective_date=date(2026, 11, 20),
            certified=False,
            source=DEPOSITS,
            body="""
DRAFT for review. Not approved for customers.

Proposal: new Goal Saver accounts earn a promotional 4.50% APY for their first
6 months on balances up to $10,000, then the standard Goal Saver rates apply.
""",
        ),
    ]
