"""The router's `fallback_tier`: the tier that answers when an output validator's `on_fail = "fallback"` fires."""

from __future__ import annotations

import pytest

from loopwright.errors import ConfigError
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.router import RouterPolicy

CONFIG = DATA_DIR.parent / "config"
PRICES = (DATA_DIR / "prices.json").read_bytes()


@pytest.mark.parametrize("name", ["router.toml", "router-economics.toml"])
def test_the_sample_routers_name_the_small_tier_as_fallback(name):
    assert RouterPolicy.from_files((CONFIG / name).read_bytes(), PRICES, origin=name).routing.fallback_tier == "small"


def test_a_fallback_tier_that_is_not_configured_is_refused_naming_it():
    text = (CONFIG / "router.toml").read_text().replace('fallback_tier = "small"', 'fallback_tier = "reader"')
    with pytest.raises(ConfigError, match="routing names tier 'reader', which is not configured"):
        RouterPolicy.from_files(text.encode(), PRICES, origin="router.toml")


def test_without_a_fallback_tier_none_is_named():
    text = (CONFIG / "router.toml").read_text().replace('fallback_tier = "small"\n', "")
    assert RouterPolicy.from_files(text.encode(), PRICES).routing.fallback_tier is None
