"""The bank's intents, tenants and model price table."""

# Each intent names the tool its action needs (if any), whether the corpus
# answers it (faq), and the documents that do.
INTENTS: list[dict] = [
    {"name": "card_freeze", "tool": "freeze_card", "faq": True,
     "docs": ["card-freeze", "card-freeze-es", "card-freeze-vi"],
     "description": "Temporarily lock one's own card, or ask how a freeze works."},
    {"name": "card_unfreeze", "tool": "unfreeze_card", "faq": True,
     "docs": ["card-freeze", "card-freeze-es", "card-freeze-vi"],
     "description": "Unlock one's own frozen card, or ask how unfreezing works."},
    {"name": "card_lost", "tool": "freeze_card", "faq": True,
     "docs": ["lost-stolen-cards"],
     "description": "Report a lost or stolen card and ask about a replacement or liability."},
    {"name": "dispute_initiation", "tool": "open_dispute", "faq": True,
     "docs": ["disputes", "disputes-es", "disputes-vi"],
     "description": "Dispute a card transaction, or ask about dispute deadlines and provisional credit."},
    {"name": "chargeback_grace", "tool": None, "faq": True,
     "docs": ["chargeback-grace", "chargeback-grace-es", "chargeback-grace-vi"],
     "description": "The 5 calendar days a dispute is held open after a merchant promises a refund."},
    {"name": "flexpay", "tool": None, "faq": True,
     "docs": ["flexpay-2-0", "flexpay-2-0-es", "flexpay-2-0-vi"],
     "description": "FlexPay installment plans: eligible amounts, plan lengths, APR, fees, limits."},
    {"name": "savings_rates", "tool": None, "faq": True,
     "docs": ["savings-rates-2026-10", "savings-rates-2026-10-es", "savings-rates-2026-10-vi",
              "larkspur-saver", "goal-saver"],
     "description": "Savings account interest rates (APY) for Larkspur Saver and Goal Saver."},
    {"name": "wire_transfer", "tool": None, "faq": True,
     "docs": ["wire-transfers", "wire-transfers-vi"],
     "description": "Wire cutoff times, fees and limits."},
    {"name": "balance", "tool": None, "faq": False,
     "docs": ["balances-and-pending"],
     "description": "Account balances, available versus current balance, pending holds."},
    {"name": "fees", "tool": None, "faq": True,
     "docs": ["fee-schedule", "everyday-checking", "overdraft-options"],
     "description": "Account and card fees: maintenance, overdraft, ATM, foreign transaction."},
    {"name": "account_opening", "tool": None, "faq": True,
     "docs": ["account-opening"],
     "description": "How to open an account, eligibility, documents and opening deposits."},
    {"name": "branch_hours", "tool": None, "faq": True,
     "docs": ["branch-hours", "branch-hours-es", "holiday-schedule-2026"],
     "description": "Branch and drive-up opening hours and holiday closures."},
    {"name": "human_agent", "tool": "escalate_to_human", "faq": False,
     "docs": ["contact-us"],
     "description": "Ask to speak with a person."},
    {"name": "other", "tool": None, "faq": False, "docs": [],
     "description": "Off-topic requests and chit-chat the assistant declines."},
    {"name": "privacy_request", "tool": "privacy_request", "faq": False, "docs": ["privacy-notice"],
     "description": "A data-subject request: a copy of the data held about oneself, or its erasure."},
]

TENANTS: list[dict] = [
    {"name": "larkspur-retail", "scopes": ["retail"], "roles": ["customer"],
     "description": "Retail customers using the app and web assistant; reads public retail documents only."},
    {"name": "larkspur-staff", "scopes": ["retail", "staff"], "roles": ["agent", "admin"],
     "description": "Contact-centre agents and administrators; also reads staff-only documents."},
]

# USD per 1k tokens; the large tier is 25x the small one, so routing shows in cost.
PRICES: dict[str, dict[str, float]] = {
    "small": {"input_per_1k": 0.0002, "output_per_1k": 0.0006},
    "large": {"input_per_1k": 0.005, "output_per_1k": 0.015},
}
