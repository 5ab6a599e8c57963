"""The response cache: exact match on a normalised question plus the full context fingerprint.

The key salts the normalised text with every slot's artifact digest, the corpus
commit, the tenant, scopes and sensitivity ceiling, so a hit can never cross
tenants, corpus commits or deployments. Only answers that took no action are
stored: a tool call always runs. No semantic (embedding-similarity) matching:
near-miss questions ("freeze" / "unfreeze", "$500" / "$5,000") must not collide.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from typing import Any, Protocol

from cachetools import LRUCache

from loopwright.digests import canonical_json, sha256_hex

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")
_MINUS = re.compile(r"(?<![\w$])[-\u2212](?=\$?\d)")  # "-$500", "−20": a sign, not punctuation
_PUNCT = re.compile(r"[^\w\s$%.<>]")
_SPACE = re.compile(r"\s+")


def _number(match: re.Match) -> str:
    # Leading zeros stay: "0042" (a card ending) is not "42".
    whole = match.group(1).replace(",", "")
    frac = (match.group(2) or "").rstrip("0").rstrip(".")
    return whole + frac


def normalise(text: str) -> str:
    """Unicode NFKC, case-folded, number formats unified ("$1,000.00" -> "$1000"), punctuation and spacing folded.

    Periods inside numbers and `$`/`%` signs are kept: "9.9%" and "99%" differ.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NUMBER.sub(_number, text)
    text = _MINUS.sub(" minus ", text)
    text = _PUNCT.sub(" ", text)
    text = re.sub(r"\.(?!\d)", " ", text)  # sentence periods, not decimal points
    return _SPACE.sub(" ", text).strip()


def cache_key(question: str, context: dict[str, Any], *, normalise_input: bool = True) -> str:
    """sha256 over the (normalised) question and the canonical context fingerprint."""
    text = normalise(question) if normalise_input else question
    return sha256_hex(canonical_json({"q": text, "ctx": context}))


class Cache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryCache:
    """In-process LRU, the default for a single replica.

    Entries are kept as JSON text: one string per entry instead of a tree of dicts
    and lists, so a full cache adds nothing for the garbage collector to walk
    (10,000 entries as dicts made its pauses ~2x longer) and a hit hands out a copy.
    """

    def __init__(self, max_entries: int = 10_000):
        self._lru: LRUCache = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            raw = self._lru.get(key)
        return json.loads(raw) if raw is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        raw = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._lru[key] = raw


class RedisCache:
    """Shared by every replica; entries expire after `ttl_s`."""

    def __init__(self, url: str, *, ttl_s: int = 3600, prefix: str = "lw:cache:"):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._ttl = ttl_s
        self._prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(self._prefix + key)
        return json.loads(raw) if raw is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._redis.set(self._prefix + key, json.dumps(value, ensure_ascii=False), ex=self._ttl)


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
