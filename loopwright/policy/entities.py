"""The personal-data entity types loopwright detects: the policy names them, the PII scanner finds them."""

from __future__ import annotations

ENTITIES: dict[str, str] = {
    "CREDIT_CARD": "CARD",
    "US_SSN": "SSN",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "IBAN_CODE": "IBAN",
    "ACCOUNT_NUMBER": "ACCOUNT",
    "NATIONAL_ID": "ID",
    "DATE_OF_BIRTH": "DOB",
    "ADDRESS": "ADDRESS",
    "PERSON": "NAME",
}
"""Every entity type loopwright detects, with the tag its placeholder carries."""
