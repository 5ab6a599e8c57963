"""The simulated request stream: deterministic, realistic in mix, and judged by true facts."""

import inspect
import itertools
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.simulate import ARRIVALS_PER_S, main, simulate

KEYS = {"id", "t", "tenant", "customer_id", "language", "text", "intent", "kind", "expect"}


@pytest.fixture(scope="module")
def stream() -> list[dict]:
    return list(simulate(3000, seed=11))


def test_deterministic_per_seed_and_different_across_seeds() -> None:
    assert list(simulate(300, seed=5)) == list(simulate(300, seed=5))
    assert [r["text"] for r in simulate(300, seed=5)] != [r["text"] for r in simulate(300, seed=6)]


def test_is_lazy() -> None:
    requests = simulate(10**9, seed=1)
    assert inspect.isgenerator(requests)
    assert len(list(itertools.islice(requests, 5))) == 5


def test_shape_and_arrivals(stream: list[dict]) -> None:
    assert [r["id"] for r in stream[:3]] == ["r000001", "r000002", "r000003"]
    for r in stream:
        assert set(r) == KEYS
        assert set(r["expect"]) == {"must_contain", "must_not_contain", "must_decline", "tool"}
    times = [r["t"] for r in stream]
    assert times == sorted(times) and times[0] > 0
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert statistics.mean(gaps) == pytest.approx(1 / ARRIVALS_PER_S, rel=0.1)


def test_mix(stream: list[dict]) -> None:
    n = len(stream)
    kinds = Counter(r["kind"] for r in stream)
    assert set(kinds) == {"faq", "tool", "pii", "unsafe_tool", "chitchat", "staff"}
    assert kinds["faq"] / n > 0.5 and kinds["unsafe_tool"] / n > 0.01
    languages = Counter(r["language"] for r in stream)
    assert 0.68 < languages["en"] / n < 0.82 and languages["es"] / n > 0.1 and languages["vi"] / n > 0.06
    tenants = Counter(r["tenant"] for r in stream)
    assert 0.85 < tenants["larkspur-retail"] / n < 0.99
    assert all(r["customer_id"] is None for r in stream if r["tenant"] == "larkspur-staff")


def test_repeats_and_near_repeats(stream: list[dict]) -> None:
    seen: set[str] = set()
    seen_normal: set[str] = set()
    exact = near = 0
    for r in stream:
        normal = re.sub(r"[\W_]", "", r["text"].lower())
        if r["text"] in seen:
            exact += 1
        elif normal in seen_normal:
            near += 1
        seen.add(r["text"])
        seen_normal.add(normal)
    assert 0.18 < exact / len(stream) < 0.45
    assert 0.10 < near / len(stream) < 0.30


def test_expectations_follow_the_facts(stream: list[dict]) -> None:
    owner = {k["last4"]: k["customer_id"] for k in map(json.loads, (DATA_DIR / "cards.jsonl").open())}
    for r in stream:
        e = r["expect"]
        if r["kind"] == "unsafe_tool":
            assert e["tool"]["expect"] == "blocked"
            last4 = re.findall(r"\b\d{4}\b", r["text"])
            if "txn_" not in r["text"]:
                assert owner[last4[0]] != r["customer_id"]
        if r["kind"] == "tool" and r["intent"] in ("card_freeze", "card_unfreeze", "card_lost"):
            assert e["tool"]["expect"] == "allowed"
            assert owner[re.findall(r"\b\d{4}\b", r["text"])[0]] == r["customer_id"]
        if r["kind"] == "pii":
            assert any(datum in r["text"] for datum in e["must_not_contain"])
        if r["kind"] == "chitchat":
            assert e["must_decline"] and r["intent"] == "other"
        if r["intent"] == "savings_rates" and not e["must_decline"]:
            assert "2.25%" in e["must_not_contain"] and "2.25%" not in e["must_contain"]
    assert any("3.80%" in r["expect"]["must_contain"] for r in stream)
    assert any(r["kind"] == "staff" and r["expect"]["must_not_contain"] for r in stream)


def test_main_writes_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "requests.jsonl"
    assert main(250, 3, out) == 250
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(simulate(250, 3))
