"""Retail service documents in English: disputes, wires, branches, app and account help."""

from datetime import date

from loopwright.samples.bank.documents.model import Doc

CARE = "Larkspur Customer Care"
PAYMENTS = "Larkspur Payments Operations"
CARDS = "Larkspur Card Services"
DIGITAL = "Larkspur Digital Banking"


def documents() -> list[Doc]:
    """The service and how-to documents."""
    return [
        Doc(
            id="disputes",
            title="Disputing a card transaction",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
If a charge is wrong, unauthorised, or for goods you never received, you can
dispute it.

## Deadlines and requirements

- A dispute must be filed within 60 days of the statement date on which the
  charge first appeared.
- A transaction id is required; find it under the transaction in the app.
- There can be one open dispute per transaction.

## Provisional credit

For disputes over $25 we give provisional credit within 10 business days of
filing while we investigate. Disputes of $25 or less are investigated without
provisional credit.

| Step | Timing |
|---|---|
| File the dispute | within 60 days of the statement date |
| Provisional credit (over $25) | within 10 business days |
| Investigation complete | within 45 days |

## If the merchant promised a refund

See chargeback grace: we hold the dispute open for 5 calendar days before
filing the chargeback.
""",
        ),
        Doc(
            id="chargeback-grace",
            title="Chargeback grace",
            effective_date=date(2026, 7, 1),
            source=CARDS,
            body="""
"Chargeback grace" is Larkspur's term for the 5 calendar days after a merchant
promises a refund.

## What happens during chargeback grace

- Your dispute is held open, not closed, while the merchant has time to
  refund you.
- If the refund posts within the 5 calendar days, we close the dispute.
- If it does not, we file the chargeback with the card network on the next
  business day.

## What it does not change

The grace window does not extend the 60 days you have to dispute a charge,
counted from the statement date. Provisional credit for disputes over $25
follows within 10 business days of filing the chargeback.

| Day | What we do |
|---|---|
| Merchant promises a refund | dispute held open |
| Days 1 to 5 | wait for the refund |
| After 5 calendar days | file the chargeback |
""",
        ),
        Doc(
            id="wire-transfers",
            title="Wire transfers",
            effective_date=date(2026, 7, 20),
            source=PAYMENTS,
            body="""
## Cutoff and timing

Wires sent before 5 pm Eastern on a business day go out the same day. Wires
sent after 5 pm Eastern, or on a weekend or Federal Reserve holiday, go out
the next business day. International wires usually arrive in 1 to 3 business
days.

## Fees

| Wire | Fee |
|---|---|
| Domestic, outgoing | $25 |
| International, outgoing | $45 |
| Incoming, domestic | $0 |
| Incoming, international | $15 |

## Limits

Online wires are limited to $25,000 per day. Larger wires can be sent from a
branch.
""",
        ),
        Doc(
            id="account-opening",
            title="Opening an account",
            effective_date=date(2026, 7, 10),
            source=CARE,
            body="""
You can open Everyday Checking, Larkspur Saver or Goal Saver online in about
10 minutes, or at any branch.

## What you need

- To be 18 or older.
- A Social Security number or an ITIN.
- A government-issued photo ID, such as a driver's license or passport.
- A US residential address.

## Opening deposits

| Account | Minimum opening deposit |
|---|---|
| Everyday Checking | $25 |
| Larkspur Saver | $0 |
| Goal Saver | $0 |
""",
        ),
        Doc(
            id="branch-hours",
            title="Branch hours",
            effective_date=date(2026, 8, 1),
            source=CARE,
            body="""
| Day | Lobby | Drive-up |
|---|---|---|
| Monday to Friday | 9 am to 5 pm | 8 am to 6 pm |
| Saturday | 9 am to 1 pm | 9 am to 1 pm |
| Sunday | closed | closed |

Branches are closed on Sunday and on federal holidays. Hours are local time.
The assistant, the app and phone support are available 24/7.
""",
        ),
        Doc(
            id="holiday-schedule-2026",
            title="2026 holiday schedule",
            effective_date=date(2026, 7, 1),
            source=CARE,
            body="""
Branches are closed, and wires are not sent, on these days in 2026:

| Holiday | Date |
|---|---|
| Independence Day (observed) | July 3 |
| Labor Day | September 7 |
| Indigenous Peoples' Day | October 12 |
| Veterans Day | November 11 |
| Thanksgiving Day | November 26 |
| Christmas Day | December 25 |

Card payments, the app and the assistant work as usual on holidays.
""",
        ),
        Doc(
            id="contact-us",
            title="Contacting Larkspur",
            effective_date=date(2026, 7, 6),
            source=CARE,
            body="""
## Talk to a person

Ask the assistant for a human agent at any time and it hands the
conversation over, with its notes, so you do not have to repeat yourself.

| Channel | Hours |
|---|---|
| Phone, 1-800-555-0142 | 24/7 |
| Fraud line, 1-800-555-0199 | 24/7 |
| Secure message in the app | answered within 1 business day |
| Branches | see branch hours |
""",
        ),
        Doc(
            id="balances-and-pending",
            title="Balances and pending transactions",
            effective_date=date(2026, 7, 10),
            source=DIGITAL,
            body="""
Your balances are on the Accounts tab of the app and in online banking.

## Current and available balance

- The current balance includes only posted transactions.
- The available balance also subtracts pending transactions and holds, so it
  can be lower than the current balance.

## Pending transactions

A card purchase stays pending until the merchant settles it. Holds that the
merchant never settles drop off within 5 business days; hotel and car rental
holds can take up to 10 business days.
""",
        ),
        Doc(
            id="larkspur-send",
            title="Larkspur Send person-to-person payments",
            effective_date=date(2026, 8, 15),
            source=PAYMENTS,
            body="""
Larkspur Send moves money to anyone with a US phone number or e-mail address.

- Free to send and receive.
- Limit: $2,500 per day.
- Money sent to a Larkspur customer arrives in minutes.
- Send only to people you know: payments cannot be cancelled once accepted.
""",
        ),
        Doc(
            id="direct-deposit",
            title="Direct deposit",
            effective_date=date(2026, 7, 10),
            source=DIGITAL,
            body="""
Give your employer the routing and account numbers shown in the app under
Accounts, Direct deposit. Paychecks can arrive up to 2 days early, as soon as
we receive the payroll file. $250 in monthly direct deposits waives the
Everyday Checking monthly maintenance fee.
""",
        ),
        Doc(
            id="mobile-check-deposit",
            title="Mobile check deposit",
            effective_date=date(2026, 7, 10),
            source=DIGITAL,
            body="""
| Item | Rule |
|---|---|
| Cutoff for same-day credit | 8 pm Eastern |
| Daily limit | $5,000 |
| Funds available next business day | first $225 |

Endorse the back with "For mobile deposit at Larkspur Bank only" and keep the
check for 14 days.
""",
        ),
        Doc(
            id="mobile-app-security",
            title="Keeping the app secure",
            effective_date=date(2026, 9, 15),
            source=DIGITAL,
            body="""
- Turn on biometric sign-in and a device passcode.
- We never ask for your full card number, PIN or one-time code by phone,
  e-mail or chat.
- Sign-ins from a new device need a one-time code.
- If your phone is lost, sign out of all devices from online banking.
""",
        ),
        Doc(
            id="scam-awareness",
            title="Recognising scams",
            effective_date=date(2026, 10, 15),
            source=CARE,
            body="""
## Common scams

| Scam | Warning sign |
|---|---|
| Impostor call | someone claiming to be Larkspur asks for a code |
| Overpayment | a buyer "accidentally" pays too much and asks for a refund |
| Romance | an online friend needs money urgently |

If you shared a code or card number, freeze your card in the app and call the
fraud line.
""",
        ),
        Doc(
            id="statements-and-documents",
            title="Statements and documents",
            effective_date=date(2026, 7, 10),
            source=DIGITAL,
            body="""
Card and account statements close on the 25th of each month. The statement
date starts the 60 days you have to dispute a charge. Statements for the last
7 years are in the app under Documents. Paper statements cost $2 per month.
""",
        ),
        Doc(
            id="online-banking-faq",
            title="Online banking questions",
            effective_date=date(2026, 7, 10),
            source=DIGITAL,
            body="""
## I forgot my password

Choose "Forgot password" on the sign-in page; we text a one-time code to the
phone on file.

## Can I use online banking abroad?

Yes. Sign-ins from a new device need a one-time code.

## Is there a fee for online banking?

No.
""",
        ),
        Doc(
            id="accessibility",
            title="Accessibility",
            effective_date=date(2026, 7, 6),
            source=CARE,
            body="""
The app supports screen readers, large text and high contrast. Statements are
available in large print and braille on request, free of charge. Branches have
step-free access and hearing loops at the counter.
""",
        ),
    ]
