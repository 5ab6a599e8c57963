"""The `reader` backend on the sample bank: real retrieval, the session's tiny reader, the real gateway."""

from __future__ import annotations

import pytest

from loopwright.corpus.retrieval import Retriever
from loopwright.errors import ConfigError
from loopwright.policy.loader import policy_from_artifact
from loopwright.registry import artifacts
from loopwright.registry.deployment import get_deployment, set_stable
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE
from loopwright.serving.backends import GenerationRequest, create_backend
from loopwright.serving.backends.base import BackendContext
from loopwright.serving.backends.reader import asked_kind
from loopwright.serving.backends.reader_answer import answer_cell, compose, row_sentence, sentence_of
from loopwright.serving.pipeline import ChatRequest, Gateway
from loopwright.serving.trace import Citation
from loopwright.training.reader import register_reader

STOP_PAYMENT = "How much is a stop payment?"


def reader_router(min_answerability: float) -> bytes:
    """Every question to the reader on the small tier (no triage: intent `unknown`), the stapler as the large tier."""
    return f"""
mode = "governed"
assistant_model = "larkspur-assistant"

[tiers.small]
backend = "reader"
price = "small"
options = {{ min_answerability = {min_answerability} }}

[tiers.large]
backend = "extractive"
price = "large"
options = {{ evidence_spans = 4 }}

[routing]
small_intents = ["unknown"]
min_confidence = 0.0
min_margin = 0.0
default_tier = "large"
""".encode()


def deploy_reader(ws, sample_reader, min_answerability: float = 0.5):
    """The session's reader live on `model:reader`, and a router whose small tier it is."""
    model, _ = register_reader(ws, sample_reader, "reader", provenance={"source": "test"}, deploy=True)
    router = artifacts.register(ws, "router", "reader-test", {"router.toml": reader_router(min_answerability),
                                                              "prices.json": (DATA_DIR / "prices.json").read_bytes()})
    set_stable(ws, "router", router.ref, reason="test: the reader on the small tier")
    return model


def request_for(ws, model, question: str, evidence_for: str | None = None) -> GenerationRequest:
    """`question` with the evidence the live corpus retrieves for `evidence_for` (default: the question)."""
    deployment = get_deployment(ws)
    policy = policy_from_artifact(ws, deployment.stable("policy"))
    found = Retriever(ws).search(evidence_for or question, commit=deployment.stable("corpus").digest,
                                 tenant="larkspur-retail", rules=policy.retrieval, k=5, as_of=REFERENCE_DATE)
    return GenerationRequest(question=question, messages=[], evidence=[Citation.of(n, s) for n, s in enumerate(found.spans, 1)],
                             prompt=None, artifacts={"model:reader": model}, contexts=[s.context for s in found.spans])


@pytest.fixture
def reader_ws(bank, sample_reader):
    return bank, deploy_reader(bank, sample_reader, 0.0)


def test_a_table_cell_is_answered_as_one_cited_sentence(reader_ws):
    ws, model = reader_ws
    request = request_for(ws, model, STOP_PAYMENT)
    generation = create_backend("reader", {"min_answerability": 0.0, "max_spans": 1}, BackendContext(ws)).generate(request)
    assert generation.escalate is None and len(generation.citations) == 1
    n = generation.citations[0]
    cited = request.evidence[n - 1]
    assert cited.doc_id == "fee-schedule" and "Stop payment" in cited.text
    assert generation.text == f"The fee for Stop payment is $30. [{n}]"
    assert generation.info["evidence"] == n and generation.info["model"] == model.digest
    # the stop-payment row is the span it finds most answerable
    assert generation.info["answerability"] == max(generation.info["reads"].values())


def test_further_spans_join_the_answer_above_min_support_most_answerable_first(reader_ws):
    ws, model = reader_ws
    question = "How much is a stop payment and how much is an outgoing domestic wire?"
    request = request_for(ws, model, question)
    backend = create_backend("reader", {"min_answerability": 0.0, "min_support": 0.0, "max_spans": 3}, BackendContext(ws))
    generation = backend.generate(request)
    reads = generation.info["reads"]
    ranked = sorted(reads, key=lambda n: -reads[n])
    # every span above min_support (here: all) up to max_spans, in the reader's order, one cited sentence each
    assert generation.citations == [int(n) for n in ranked[:3]] == generation.info["spans"]
    assert [f"[{n}]" in generation.text for n in generation.citations] == [True] * 3
    assert generation.text.index(f"[{generation.citations[0]}]") < generation.text.index(f"[{generation.citations[1]}]")
    # a min_support above every further span: the best span alone
    alone = create_backend("reader", {"min_answerability": 0.0, "min_support": 1.0}, BackendContext(ws)).generate(request)
    assert alone.citations == [int(ranked[0])]


def test_an_unanswerable_question_asks_to_escalate(reader_ws):
    ws, model = reader_ws
    request = request_for(ws, model, "Who won the World Cup in 2018?", evidence_for=STOP_PAYMENT)
    generation = create_backend("reader", {"min_answerability": 0.5}, BackendContext(ws)).generate(request)
    assert generation.text == "" and generation.citations == []
    assert generation.info["answerability"] < 0.5 and generation.escalate.startswith("reader answerability")


def test_bad_options_are_one_config_error(bank):
    with pytest.raises(ConfigError, match="min_answerability"):
        create_backend("reader", {"min_answerability": 2}, BackendContext(bank))
    with pytest.raises(ConfigError, match="max_spans"):
        create_backend("reader", {"max_spans": 0}, BackendContext(bank))
    with pytest.raises(ConfigError, match="through a gateway"):
        create_backend("reader", {}, BackendContext())


def ask(gateway: Gateway, question: str):
    principal = gateway.principal_for("larkspur-retail", "customer", None, key_id="test")
    return gateway.complete(ChatRequest(model="larkspur-assistant", messages=[{"role": "user", "content": question}]),
                            principal, sync_trace=True)


@pytest.mark.parametrize("threshold, tier", [(0.0, "small"), (0.999, "large")])
def test_the_gateway_escalates_below_the_threshold(bank, sample_reader, threshold, tier):
    deploy_reader(bank, sample_reader, threshold)
    gateway = Gateway(bank, as_of=REFERENCE_DATE, watch=False)
    try:
        trace = ask(gateway, STOP_PAYMENT).trace
    finally:
        gateway.close()
    print("DEBUG", trace.policies, trace.generation, [c.doc_id for c in trace.citations]); assert trace.tier == tier and "$30" in trace.output
    fired = [p.name for p in trace.policies]
    if tier == "small":
        assert "$30" in trace.output.split(" [")[0]  # the most answerable span first
        assert len(trace.citations) == len(trace.generation["spans"]) >= 1
        assert trace.generation["backend"] == "reader" and not trace.route.escalated
        assert "generation.escalate" not in fired
    else:  # the stapler answered after the reader declined to
        assert trace.route.escalated and "on the small tier" in trace.route.reason and "generation.escalate" in fired


def test_a_row_without_a_header_is_said_column_by_column():
    assert row_sentence("Fees", "| Overdraft | $29 |", 14, 17, "en") == "Overdraft; $29."
    header = "Fees\n| Service | Fee |"
    assert row_sentence(header, "| Overdraft | $29 |", 14, 17, "en") == "The fee for Overdraft is $29."
    assert row_sentence(header, "| Overdraft | $29 |", 14, 17, "es") == "Fee para Overdraft: $29."
    # the row's own name picked: the whole row, with its headers
    assert row_sentence(header, "| Overdraft | $29 |", 2, 5, "en") == "Service: Overdraft; Fee: $29."


def test_the_sentence_holding_the_answer_is_kept():
    text = "- There is no setup fee. A $15 late fee applies when an installment is late. Paying early is free."
    assert sentence_of(text, 27, 30) == "A $15 late fee applies when an installment is late."
    assert sentence_of(text, 5, 8) == "There is no setup fee."


def test_a_tiered_rate_keeps_the_cells_that_qualify_it():
    header = "Savings rates\n| Account | Balance tier | APY |"
    row = "| Goal Saver | up to $10,000 | 4.10% APY |"
    assert row_sentence(header, row, 31, 40, "en") == "The APY for Goal Saver (balance tier: up to $10,000) is 4.10% APY."


def test_the_answering_cell_is_the_one_the_question_names():
    headers, cells = ["Override", "Limit", "Approval"], ["Fee reversal", "$75 per customer", "agent, override code OVR-4471"]
    # the head's pick (the limit) loses to the cell holding the question's terms
    assert answer_cell("What override code do agents use to reverse a fee?", headers, cells, predicted=1) == 2
    # a cell with a number the question states is given, not asked: the rate, not the tier
    headers, cells = ["Account", "Balance tier", "APY"], ["Goal Saver", "up to $10,000", "4.10% APY"]
    assert answer_cell("Goal Saver interest rate on balances under $10,000?", headers, cells, predicted=1) == 2
    # nothing in the question names a cell: the head's pick stands
    assert answer_cell("how about it", headers, cells, predicted=1) == 1


def test_each_sentence_is_said_once_with_every_span_that_says_it():
    text, cited = compose([(2, "A $15 late fee applies."), (4, "There is no setup fee."), (5, "A $15 late fee applies.")])
    assert text == "A $15 late fee applies. [2, 5] There is no setup fee. [4]" and cited == [2, 5, 4]


@pytest.mark.parametrize(("question", "passage", "kind"), [
    ("how much does a domestic wire cost", "| Domestic, outgoing | $25 |", 1.0),
    ("how long do I have to dispute a charge", "A transaction id is required.", -1.0),
    ("how long do I have to dispute a charge", "within 60 days of the statement date", 1.0),
    ("lai suat goi 12 thang", "| 12 tháng | 9.9% APR |", 1.0),
    ("can my wife freeze my card", "Only the cardholder can freeze a card.", 0.0),
])
def test_the_asked_kind_feature_says_whether_the_span_states_what_is_asked(question, passage, kind):
    assert asked_kind(question, passage) == kind
