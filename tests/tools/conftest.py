"""A workspace with the sample bank's book loaded and the sample policy parsed."""

from __future__ import annotations

import pytest

from loopwright.policy.principal import Principal
from loopwright.policy.loader import load_policy
from loopwright.samples.bank.install import CONFIG_DIR


@pytest.fixture(scope="session")
def policy():
    return load_policy((CONFIG_DIR / "policy.toml").read_bytes(), "policy.toml")


@pytest.fixture
def book(workspace):
    from loopwright.samples.bank.tools.book import load_bank_book

    load_bank_book(workspace)
    return workspace


@pytest.fixture
def customer():
    """A retail customer's principal, as an API key gives it."""

    def make(subject: str, role: str = "customer", tenant: str = "larkspur-retail") -> Principal:
        return Principal(tenant, role, ("retail",), subject, key_id="test")

    return make
