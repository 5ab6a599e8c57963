"""The bank's own tools take their arguments from the model's tool call, where the tier's backend makes one
(issue 15, item 4): validated against the typed contract before anything runs, the words' extractors behind
the same validators when the model's arguments fail it. Receipts as before.

The large tier here is the `openai` backend on a scripted provider (`tests/upstream.py`: a real HTTP server;
a provider is the one thing outside the project), so each test chooses exactly what the model answers.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from live import MODEL, Live, http_client, openai_client, wait_for_version
from upstream import Upstream

from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.tools.schema import BankCardRow

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _status(ws, last4: str) -> str:
    with ws.session() as s:
        return s.scalars(sa.select(BankCardRow.status).where(BankCardRow.last4 == last4)).one()


@pytest.fixture
def model_tier(triaged_bank, serve, new_key):
    """The sample router with its large tier on a provider that makes tool calls; a customer (cus_001) key."""
    with Upstream(answer="I can help with that.") as up:
        router = (DATA_DIR.parent / "config" / "router.toml").read_text()
        start = router.index("[tiers.large]")
        end = router.index("[routing]")
        large = f'[tiers.large]\nbackend = "openai"\nprice = "large"\noptions = {{ base_url = "{up.url}", max_retries = 0 }}\n\n'
        ref = artifacts.register(triaged_bank, "router", "bank-tools", {
            "router.toml": (router[:start] + large + router[end:]).encode(),
            "prices.json": (DATA_DIR / "prices.json").read_bytes()}).ref
        set_stable(triaged_bank, "router", ref, reason="a tier that makes tool calls")
        server = serve(triaged_bank)
        key = new_key(triaged_bank, scopes=("retail",), subject="cus_001")
        live = Live(triaged_bank, server, key, openai_client(server, key), http_client(server, key))
        wait_for_version(live, get_deployment(triaged_bank).version)
        yield live, up
        live.http.close()


def _ask(live: Live, text: str) -> dict:
    response = live.http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text
    return response.json()


@SQLITE
def test_the_models_arguments_run_the_tool_when_they_pass_the_contract(model_tier):
    live, up = model_tier
    up.tool_calls = [("freeze_card", '{"last4": "5212"}')]
    done = _ask(live, "please freeze my card right now")  # the words name no card: the extractors alone find nothing
    (tool,) = done["loopwright"]["tools"]
    assert tool["name"] == "freeze_card" and tool["status"] == "executed" and _status(live.ws, "5212") == "frozen"
    assert done["loopwright"]["receipts"][0]["ticket"] == tool["ticket"]
    asked = up.requests[-1]  # the contract, offered as the one function the model must call
    assert asked["tool_choice"] == {"type": "function", "function": {"name": "freeze_card"}}
    last4 = asked["tools"][0]["function"]["parameters"]["properties"]["last4"]  # the contract's own schema
    assert r"^\d{4}$" in [option.get("pattern") for option in last4.get("anyOf", [last4])]
    record = live.trace(done["loopwright"]["trace_id"])
    assert record["tools"][0]["arguments_from"] == "model" and not record.get("tool_calls_returned")  # the stored record holds only what the call set


@SQLITE
def test_arguments_that_fail_the_contract_never_run_and_the_words_serve_instead(model_tier):
    live, up = model_tier
    up.tool_calls = [("freeze_card", '{"last4": "52", "card_id": "card_002"}')]  # two cards named, one malformed
    done = _ask(live, "freeze my card ending 9662 please")
    (tool,) = done["loopwright"]["tools"]
    assert tool["status"] == "executed" and _status(live.ws, "9662") == "frozen" and _status(live.ws, "5212") == "active"
    record = live.trace(done["loopwright"]["trace_id"])["tools"][0]
    assert record["arguments_from"] == "words" and "fail the contract" in record["reason"] and "last4" in record["reason"]


@SQLITE
def test_a_card_the_customer_does_not_own_is_refused_before_anything_runs(model_tier):
    live, up = model_tier
    up.tool_calls = [("freeze_card", '{"last4": "0908"}')]  # cus_002's card
    refused = _ask(live, "please freeze my card right now")
    (tool,) = refused["loopwright"]["tools"]
    assert tool["status"] == "blocked" and not refused["loopwright"]["receipts"]
    assert _status(live.ws, "0908") == "active"
    assert live.trace(refused["loopwright"]["trace_id"])["tools"][0]["arguments_from"] == "model"
