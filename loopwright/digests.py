"""Canonical JSON, digests and timestamps: the bytes every signature and cache key is made from."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from loopwright.errors import InvalidInput


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces, so equal values give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """The sha256 of a value's canonical JSON."""
    return sha256_hex(canonical_json(value))


def utc_now() -> str:
    """Now, in UTC, as a fixed-width ISO-8601 string that sorts as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_stamp(when: str) -> str:
    """An ISO-8601 time in the fixed-width UTC form `utc_now` writes, so text order is time order."""
    try:
        moment = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"invalid time {when!r}", hint="ISO-8601, e.g. 2026-11-29T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
