"""The reader on the small tier behind a real server, through the official `openai` client (buffered and streamed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from live import Live, http_client, lw, openai_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "serving"))
from test_reader_backend import STOP_PAYMENT, deploy_reader  # noqa: E402


@pytest.fixture
def reader_live(bank, sample_reader, serve, new_key):
    deploy_reader(bank, sample_reader, 0.0)  # the tiny reader's calibration is coarse: always answer
    server = serve(bank)
    key = new_key(bank, tenant="larkspur-retail", role="customer")
    live = Live(bank, server, key, openai_client(server, key), http_client(server, key))
    yield live
    live.http.close()


def test_the_openai_client_gets_cited_sentences_the_answer_first(reader_live):
    answer = reader_live.ask(STOP_PAYMENT)
    text, meta = answer.choices[0].message.content, lw(answer)
    assert text.startswith("The fee for Stop payment is $30.") and meta["tier"] == "small"
    assert meta["citations"] and meta["citations"][0]["doc_id"] == "fee-schedule"
    assert all(f"[{c['n']}]" in text for c in meta["citations"])
    record = reader_live.trace(meta["trace_id"])
    assert record["generation"]["backend"] == "reader" and 0 < record["generation"]["answerability"] <= 1

    streamed = reader_live.client.chat.completions.create(
        model="larkspur-assistant", messages=[{"role": "user", "content": STOP_PAYMENT + " "}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text


def test_a_streamed_answer_below_the_threshold_comes_from_the_large_tier(bank, sample_reader, serve, new_key):
    deploy_reader(bank, sample_reader, min_answerability=0.999)
    server = serve(bank)
    key = new_key(bank, tenant="larkspur-retail", role="customer")
    live = Live(bank, server, key, openai_client(server, key), http_client(server, key))
    chunks = list(live.client.chat.completions.create(
        model="larkspur-assistant", messages=[{"role": "user", "content": STOP_PAYMENT}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    trace_id = next(lw(c)["trace_id"] for c in chunks if c.model_extra.get("loopwright"))
    record = live.trace(trace_id)
    assert "$30" in text and record["tier"] == "large" and record["route"]["escalated"]
    assert "generation.escalate" in [p["name"] for p in record["policies"]]
    live.http.close()
