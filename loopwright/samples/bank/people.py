"""Customers, accounts, cards and card transactions of the sample bank.

All of it is fictional: 555-01xx phone numbers, example.com e-mail addresses,
and Luhn-valid card numbers in the 400000 test range.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta

from loopwright.text import strip_accents

TENANT = "larkspur-retail"

FIRST_NAMES = [
    "Avery", "Jordan", "Maya", "Elliot", "Priya", "Samuel", "Grace", "Theo", "Nora", "Isaac",
    "Hannah", "Marcus", "Lena", "Owen", "Ruth", "Caleb", "Ingrid", "Desmond", "Fiona", "Harold",
    "Lucía", "Mateo", "Valentina", "Diego", "Camila", "Javier", "Sofía", "Andrés",
    "Minh", "Thảo", "Quang", "Lan", "Huy", "Ngọc", "Tuấn", "Linh",
    "Amara", "Kenji", "Zofia", "Omar",
]
LAST_NAMES = [
    "Whitfield", "Okafor", "Lindqvist", "Harrow", "Castellano", "Brennan", "Mercer", "Ashby",
    "Delgado", "Fairweather", "Quinlan", "Rasmussen", "Thornbury", "Vance", "Kowalski", "Pemberton",
    "García", "Morales", "Herrera", "Navarro", "Ibáñez", "Rojas",
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng",
    "Abernathy", "Sato", "Novak", "Haddad", "Ellery", "Marlow", "Finch", "Corbin", "Yates", "Sterling", "Hale",
]
STREETS = ["Alder", "Juniper", "Larkspur", "Harbor", "Maple", "Cedar", "Orchard", "Willow", "Granite", "Quarry"]
SUFFIXES = ["Street", "Avenue", "Lane", "Road", "Court", "Way"]
TOWNS = [
    ("Alder Creek", "OR", "97380"), ("Marion Bay", "WA", "98371"), ("Cedar Hollow", "CA", "95961"),
    ("Westbrook Falls", "OR", "97415"), ("Pine Ridge", "WA", "98258"),
]
AREA_CODES = ["503", "206", "541", "360", "916"]

# (merchant, low cents, high cents); StreamBox is the recurring payment a freeze lets through.
MERCHANTS = [
    ("Brightmart", 1200, 18000), ("Cedar Grocers", 800, 22000), ("StreamBox", 1599, 1599),
    ("QuickFuel", 2500, 9000), ("Skyline Air", 18000, 140000), ("Harbor Electronics", 4000, 260000),
    ("Pine & Ladle Bistro", 1800, 12000), ("Northway Pharmacy", 600, 7500),
    ("Tidewater Hotels", 12000, 65000), ("Lumen Home Goods", 2000, 48000),
    ("Copperline Transit", 275, 2750), ("Orchard Books", 900, 6500),
]
STATEMENT_DAY = 25
FIRST_POSTED = date(2026, 1, 2)
LAST_POSTED = date(2026, 11, STATEMENT_DAY)


@dataclass(frozen=True)
class People:
    """Everything about the bank's customers, as JSON-ready records."""

    customers: list[dict]
    accounts: list[dict]
    cards: list[dict]
    transactions: list[dict]


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled positions, counted from the digit left of the check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def statement_date(posted: date) -> date:
    """Statements close on the 25th; a purchase posted after it lands on next month's."""
    if posted.day <= STATEMENT_DAY:
        return posted.replace(day=STATEMENT_DAY)
    year, month = (posted.year + 1, 1) if posted.month == 12 else (posted.year, posted.month + 1)
    return date(year, month, STATEMENT_DAY)


def _customers(rng: random.Random, n: int) -> list[dict]:
    firsts = rng.sample(FIRST_NAMES, n)
    lasts = rng.sample(LAST_NAMES, n)
    phone_suffixes = rng.sample(range(100), n)
    out = []
    for i, (first, last, suffix) in enumerate(zip(firsts, lasts, phone_suffixes), start=1):
        town, state, zip_code = rng.choice(TOWNS)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 54))
        handle = strip_accents(f"{first}.{last}").lower().replace(" ", "")
        out.append({
            "id": f"cus_{i:03d}",
            "name": f"{first} {last}",
            "email": f"{handle}@example.com",
            "phone": f"+1-{rng.choice(AREA_CODES)}-555-01{suffix:02d}",
            "date_of_birth": born.isoformat(),
            "address": f"{rng.randrange(10, 9900)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}, "
            f"{town}, {state} {zip_code}",
            "tenant": TENANT,
        })
    return out


def _accounts(rng: random.Random, customers: list[dict]) -> list[dict]:
    out = []
    numbers: set[str] = set()
    for customer in customers:
        kinds = ["checking"] + (["savings"] if rng.random() < 0.65 else [])
        for kind in kinds:
            number = ""
            while not number or number in numbers:
                number = "81" + "".join(str(rng.randrange(10)) for _ in range(8))
            numbers.add(number)
            high = 1_500_000 if kind == "checking" else 4_000_000
            out.append({
                "id": f"acc_{len(out) + 1:03d}",
                "customer_id": customer["id"],
                "type": kind,
                "number": number,
                "balance_cents": rng.randrange(2_500, high),
            })
    return out


def card_token(card_id: str) -> str:
    """The card's stand-in for its number: random-looking, derived from nothing secret or personal."""
    return "tok_" + hashlib.sha256(f"larkspur-sample-card:{card_id}".encode()).hexdigest()[:20]


def _cards(rng: random.Random, customers: list[dict]) -> list[dict]:
    out = []
    used_last4: set[str] = set()
    for customer in customers:
        for _ in range(2 if rng.random() < 0.25 else 1):
            # Unique last four digits, so "my card ending 1234" names exactly one card.
            pan = ""
            while not pan or pan[-4:] in used_last4:
                partial = "400000" + "".join(str(rng.randrange(10)) for _ in range(9))
                pan = partial + luhn_check_digit(partial)
            used_last4.add(pan[-4:])
            card_id = f"card_{len(out) + 1:03d}"
            # Only the last four digits and a token are kept: the data holds no card number to leak or erase.
            out.append({
                "id": card_id,
                "customer_id": customer["id"],
                "last4": pan[-4:],
                "token": card_token(card_id),
                "status": "active",
            })
    return out


def _transactions(rng: random.Random, cards: list[dict], per_card: tuple[int, int] = (7, 14)) -> list[dict]:
    span = (LAST_POSTED - FIRST_POSTED).days
    rows = []
    for card in cards:
        for _ in range(rng.randrange(*per_card)):
            merchant, low, high = rng.choice(MERCHANTS)
            posted = FIRST_POSTED + timedelta(days=rng.randrange(span + 1))
            rows.append((posted, card["id"], merchant, rng.randrange(low, high + 1)))
    rows.sort()
    return [
        {
            "id": f"txn_{i:04d}",
            "card_id": card_id,
            "merchant": merchant,
            "amount_cents": amount,
            "posted_date": posted.isoformat(),
            "statement_date": statement_date(posted).isoformat(),
        }
        for i, (posted, card_id, merchant, amount) in enumerate(rows, start=1)
    ]


CORE_CUSTOMERS = 40
"""The first customers, with full histories: the goldens and the tests name them (cus_001 ...)."""
CUSTOMERS = 1000
"""The whole book: enough that a 10% canary, sticky per customer, is ~100 customers' traffic, not four."""


def _more_customers(rng: random.Random, core: list[dict], n: int) -> list[dict]:
    """`n` customers after the core ones: unused (first, last) pairs, so every name is one person's. Phone
    numbers stay in the fictional 555-01xx range, which holds only 500 with these area codes, so some repeat."""
    used = {c["name"] for c in core}
    pairs = [(f, la) for f in FIRST_NAMES for la in LAST_NAMES if f"{f} {la}" not in used]
    out = []
    for i, (first, last) in enumerate(rng.sample(pairs, n), start=len(core) + 1):
        town, state, zip_code = rng.choice(TOWNS)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 54))
        handle = strip_accents(f"{first}.{last}").lower().replace(" ", "")
        out.append({
            "id": f"cus_{i:03d}",
            "name": f"{first} {last}",
            "email": f"{handle}@example.com",
            "phone": f"+1-{rng.choice(AREA_CODES)}-555-01{rng.randrange(100):02d}",
            "date_of_birth": born.isoformat(),
            "address": f"{rng.randrange(10, 9900)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}, {town}, {state} {zip_code}",
            "tenant": TENANT,
        })
    return out


def _more_accounts(rng: random.Random, customers: list[dict], taken: list[dict]) -> list[dict]:
    """One checking account each (savings for some), numbered after `taken`."""
    numbers = {a["number"] for a in taken}
    out = []
    for customer in customers:
        for kind in ["checking"] + (["savings"] if rng.random() < 0.3 else []):
            number = ""
            while not number or number in numbers:
                number = "81" + "".join(str(rng.randrange(10)) for _ in range(8))
            numbers.add(number)
            out.append({"id": f"acc_{len(taken) + len(out) + 1:03d}", "customer_id": customer["id"], "type": kind,
                        "number": number, "balance_cents": rng.randrange(2_500, 1_500_000 if kind == "checking" else 4_000_000)})
    return out


def _more_cards(rng: random.Random, customers: list[dict], taken: list[dict]) -> list[dict]:
    """One card each, its last four digits unused by any card before it."""
    used_last4 = {c["last4"] for c in taken}
    out = []
    for customer in customers:
        pan = ""
        while not pan or pan[-4:] in used_last4:
            partial = "400000" + "".join(str(rng.randrange(10)) for _ in range(9))
            pan = partial + luhn_check_digit(partial)
        used_last4.add(pan[-4:])
        card_id = f"card_{len(taken) + len(out) + 1:03d}"
        out.append({"id": card_id, "customer_id": customer["id"], "last4": pan[-4:], "token": card_token(card_id), "status": "active"})
    return out


def generate_people(seed: int, n_customers: int = CUSTOMERS) -> People:
    """Build the customer book deterministically from `seed`.

    The first `CORE_CUSTOMERS` (or `n_customers`, if fewer) come from their own random stream with full
    histories, so they do not change as the book grows; the rest from a second stream, each with one
    card, one or two accounts and a short card history (the book loads at every `init`, so it stays small).
    """
    rng = random.Random(f"people-{seed}")
    customers = _customers(rng, min(n_customers, CORE_CUSTOMERS))
    cards = _cards(rng, customers)
    accounts = _accounts(rng, customers)
    transactions = _transactions(rng, cards)
    if n_customers > CORE_CUSTOMERS:
        more_rng = random.Random(f"people-more-{seed}")
        more = _more_customers(more_rng, customers, n_customers - CORE_CUSTOMERS)
        more_cards = _more_cards(more_rng, more, cards)
        accounts += _more_accounts(more_rng, more, accounts)
        history = _transactions(more_rng, more_cards, per_card=(1, 4))
        transactions += [{**t, "id": f"txn_{len(transactions) + i:04d}"} for i, t in enumerate(history, start=1)]
        customers, cards = customers + more, cards + more_cards
    return People(customers, accounts, cards, transactions)
