"""Generated text on the governed path: retrieval -> numbered evidence -> a model writes -> citations parsed -> checks.

The model is a tiny generator trained here on two prompts exactly as the
gateway renders them for the bank (its real retrieval and prompt bundle), so
its greedy answers are known: one copies a span and cites it, the other states
a fee with no citation. Served by the `hf` backend in-process, and by the
`openai` backend against a second `loopwright serve` in pass-through mode over
the same model (a real OpenAI-compatible HTTP upstream). No triage model is
deployed: the sample's first router sends every question to the large tier anyway.
"""

from __future__ import annotations

import re

import pytest
from live import Live, http_client, lw, openai_client

from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.generator import _Renderer
from loopwright.serving.backends.base import cited_numbers
from loopwright.training.generator import GeneratorConfig, train_generator

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the subject is the model, not the store

CITED_Q = "How much is a domestic wire?"
UNCITED_Q = "What's the overdraft fee?"
UNCITED_ANSWER = "The overdraft fee is $29 per item."
TINY = GeneratorConfig(vocab_size=512, hidden_size=64, layers=2, heads=2, intermediate_size=172, steps=150,
                       batch_size=2, lr=3e-3)


def _router(large: str) -> bytes:
    """The sample's first router with its large tier replaced by `large` (a TOML tier body)."""
    text = (DATA_DIR.parent / "config" / "router.toml").read_text()
    head, rest = text.split("[tiers.large]\n", 1)
    return (head + "[tiers.large]\n" + large + "\n" + rest[rest.index("[routing]"):]).encode()


def _deploy_router(ws, large: str) -> None:
    files = {"router.toml": _router(large), "prices.json": (DATA_DIR / "prices.json").read_bytes()}
    set_stable(ws, "router", artifacts.register(ws, "router", "generated", files).ref, reason="a generator on large")


@pytest.fixture
def generator(bank):
    """A tiny generator that learnt two answers to the bank's own rendered prompts, live on `model:large`."""
    from loopwright.hf.checkpoint import register_checkpoint

    r = _Renderer(bank)
    cited = r.item(CITED_Q, "en", ("$25",), ("wire-transfers",))
    assert cited.answer and re.search(r"\$25.*\[\d\]$", cited.answer), cited.answer
    uncited = r.item(UNCITED_Q, "en", ("$29",), ("fee-schedule",))
    examples = [cited.example(), [*uncited.messages, {"role": "assistant", "content": UNCITED_ANSWER}]]
    trained = train_generator(examples, TINY)
    model = register_checkpoint(bank, trained.folder, "tiny-generator", task="causal-lm")
    set_stable(bank, "model:large", model.ref, reason="test generator")
    return cited, model


@pytest.fixture
def upstream_ws(tmp_path, monkeypatch, bank):
    """A second, empty workspace with a database of its own (its SQLite file in its own state folder)."""
    import os

    from loopwright.workspace import init_workspace

    shared = os.environ.pop("LOOPWRIGHT_DATABASE_URL")
    try:
        ws = init_workspace(tmp_path / "upstream")
    finally:
        os.environ["LOOPWRIGHT_DATABASE_URL"] = shared
    yield ws
    ws.close()


def _governed(ws, serve, new_key) -> Live:
    server = serve(ws)
    key = new_key(ws)
    return Live(ws, server, key, openai_client(server, key), http_client(server, key))


def _check_cited(live: Live, cited, *, stream: bool) -> dict:
    """The cited answer: its text copies the span, and the trace's citations are the [n] the text gives."""
    if stream:
        chunks = list(live.ask(CITED_Q, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        meta = lw(chunks[-1])
    else:
        answer = live.ask(CITED_Q)
        text, meta = answer.choices[0].message.content, lw(answer)
    assert text == cited.answer
    (n,) = cited_numbers(text, len(cited.evidence))
    record = live.trace(meta["trace_id"])
    assert record["outcome"] == "answered" and record["tier"] == "large"
    assert [c["n"] for c in record["citations"]] == [n] == [c["n"] for c in meta["citations"]]
    span = cited.evidence[n - 1]
    assert record["citations"][0]["doc_id"] == span.doc_id == "wire-transfers"
    assert "$25" in record["citations"][0]["text"]
    assert {v["name"]: v["passed"] for v in record["validators"]}["grounding"] is True
    assert record["tokens"]["in"] > 100 and record["tokens"]["out"] > 0 and record["cost"] > 0
    return record


def _check_uncited(live: Live) -> None:
    """A generated fact with no citation never leaves: the grounding validator sends the call to the router's
    fallback tier (the sample's stapler, whose answer is the evidence itself), and the trace says why."""
    answer = live.ask(UNCITED_Q)
    meta = lw(answer)
    record = live.trace(meta["trace_id"])
    assert UNCITED_ANSWER not in answer.choices[0].message.content
    fired = {p["name"]: p["reason"] for p in record["policies"]}
    assert "without a citation" in fired["output.fallback"] and record["tier"] == "small"
    assert record["citations"] and all(c["n"] for c in record["citations"])


def test_the_hf_backend_answers_from_numbered_evidence_and_its_citations_are_parsed(bank, generator, serve,
                                                                                  new_key):
    cited, model = generator
    _deploy_router(bank, 'backend = "hf"\nprice = "large"\n'
                                 'options = { model_slot = "model:large", adapter_slot = "", max_new_tokens = 48 }')
    live = _governed(bank, serve, new_key)
    record = _check_cited(live, cited, stream=False)
    assert record["generation"]["model"] == model.digest
    _check_cited(live, cited, stream=True)
    _check_uncited(live)


def test_the_openai_backend_against_a_real_upstream_serve_is_governed_the_same_way(bank, generator,
                                                                                 upstream_ws, serve, new_key):
    """The upstream is `loopwright serve` in pass-through mode over the hf backend: it sees the rendered prompt."""
    from loopwright.hf.checkpoint import register_checkpoint, verified_folder

    cited, model = generator
    up_model = register_checkpoint(upstream_ws, verified_folder(bank, model), "tiny-generator", task="causal-lm")
    set_stable(upstream_ws, "model:large", up_model.ref, reason="upstream model")
    router = ('mode = "passthrough"\n\n[tiers.tiny-generator]\nbackend = "hf"\nprice = "large"\n'
              'options = { model_slot = "model:large", adapter_slot = "", max_new_tokens = 48 }\n')
    files = {"router.toml": router.encode(), "prices.json": (DATA_DIR / "prices.json").read_bytes()}
    set_stable(upstream_ws, "router", artifacts.register(upstream_ws, "router", "up", files).ref)
    if get_deployment(upstream_ws).stable("policy") is None:
        policy = artifacts.register(upstream_ws, "policy", "bank",
                                    {"policy.toml": (DATA_DIR.parent / "config" / "policy.toml").read_bytes()})
        set_stable(upstream_ws, "policy", policy.ref)
    upstream = serve(upstream_ws)
    up_key = new_key(upstream_ws, tenant="larkspur-retail", role="app")

    _deploy_router(bank, f'backend = "openai"\nprice = "large"\noptions = {{ base_url = "{upstream.url}/v1", '
                                 f'model = "tiny-generator", api_key = "{up_key}", max_retries = 0 }}')
    live = _governed(bank, serve, new_key)
    record = _check_cited(live, cited, stream=False)
    up = http_client(upstream, up_key)
    sent = up.get("/v1/traces", params={"limit": 1}).json()["data"][0]
    assert up.get(f"/v1/traces/{sent['id']}").json()["input"].startswith("Evidence:\n[1] ")  # numbered evidence went up
    assert record["tokens"]["in"] == up.get(f"/v1/traces/{sent['id']}").json()["tokens"]["in"]  # the upstream's count
    _check_cited(live, cited, stream=True)
    _check_uncited(live)
