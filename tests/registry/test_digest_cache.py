"""The digest-keyed cache of loaded artifacts: one load per digest however many callers, least recently used dropped."""

import threading
import time

import pytest

from loopwright.registry.digest_cache import DigestCache


def test_concurrent_callers_of_one_digest_load_it_once():
    cache: DigestCache[int] = DigestCache()
    calls = []

    def load():
        calls.append(1)
        time.sleep(0.05)  # long enough for every thread to ask while the first loads
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("d1", load))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 8 and len(calls) == 1


def test_the_least_recently_used_is_dropped_past_the_limit():
    cache: DigestCache[str] = DigestCache(limit=2)
    cache.get("a", lambda: "A")
    cache.get("b", lambda: "B")
    cache.get("a", lambda: "reloaded")  # a is now the most recent
    cache.get("c", lambda: "C")
    assert cache.values() == ["A", "C"] and cache.get("b", lambda: "B again") == "B again"


def test_a_failed_load_keeps_nothing_and_the_next_caller_loads_again():
    cache: DigestCache[str] = DigestCache()
    with pytest.raises(OSError):
        cache.get("d", lambda: (_ for _ in ()).throw(OSError("disk")))
    assert len(cache) == 0 and cache.get("d", lambda: "ok") == "ok"
