"""Sticky assignment: the same caller always lands on the same side of a canary split or a percentage flag."""

from __future__ import annotations

import hashlib


def sticky_fraction(caller: str, salt: str) -> float:
    """A stable number in [0, 1) for a caller, independent across salts (slots, flags)."""
    digest = hashlib.sha256(f"{salt}\x00{caller}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
