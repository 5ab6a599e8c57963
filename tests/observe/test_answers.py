"""The answer-quality scorer on hand-made responses: ones that must score right, and ones that must score wrong."""

import json

import pytest

from loopwright.errors import InvalidInput
from loopwright.observe.answers import (
    CitedSpan, HeldOutQuestion, Response, first_sentence, grade, load_questions, normalise, states, summarise,
    summarise_by, word_count,
)

LATE = HeldOutQuestion("q-late", "en", "what happens fee-wise if i miss a flexpay payment", (("$15", "15 dollars"),),
                       ("flexpay-2-0",), "plain", False, "larkspur-retail")
TWO = HeldOutQuestion("q-two", "es", "¿Qué APR tiene el plan de 12 meses y cuántos planes puedo tener?",
                      (("9.9%",), ("4 planes", "at most 4")), ("flexpay-2-0-es",), "multi_part", False, "larkspur-retail")
NO = HeldOutQuestion("q-no", "en", "what's the override code?", (), ("override-procedures",), "decline", True, "larkspur-retail")
VI = HeldOutQuestion("q-vi", "vi", "phi tra cham flexpay", (("phí trả chậm $15",),), ("flexpay-2-0-vi",), "typo", False,
                     "larkspur-retail")
FEE_SPAN = CitedSpan("flexpay-2-0", "A $15 late fee applies when an installment is not paid by its due date.")
OTHER_SPAN = CitedSpan("flexpay-2-0", "FlexPay 2.0 covers card purchases of $100 to $5,000.")


@pytest.mark.parametrize("text, forms", [
    ("The late fee is $15.00.", ["$15"]),
    ("Cargo por pago atrasado de $ 15", ["$15"]),
    ("Compras de $100 a $5.000", ["$5,000"]),
    ("APR del 9,9 %", ["9.9%"]),
    ("Goal Saver pays 4.1% APY", ["4.10%"]),
    ("Phi tra cham $15 [1]", ["phí trả chậm $15"]),  # Vietnamese typed without diacritics
    ("Open 9am-1pm on Saturday", ["9 am 1 pm"]),
    ("LATE FEE: 15 DOLLARS", ["$15", "15 dollars"]),
])
def test_forms_match_after_normalising(text, forms):
    assert states(text, forms)


@pytest.mark.parametrize("text, forms", [
    ("A $150 fee applies", ["$15"]),  # a longer number is another number
    ("The fee is $1.50", ["$15"]),
    ("9.95% APR", ["9.9%"]),
    ("There is a setup fee", ["no setup fee"]),
    ("", ["$15"]),
])
def test_near_misses_do_not_match(text, forms):
    assert not states(text, forms)


def test_normalise_folds_case_accents_markers_and_numbers():
    assert normalise("Phí $5,000.00 [2], 9,9 %!") == " phi $5000 9.9% "


def test_first_sentence_and_word_count():
    assert first_sentence("FlexPay covers $100 to $5,000. [1] The late fee is $15. [2]") == "FlexPay covers $100 to $5,000."
    assert first_sentence("| 24 months | 9.9% APR | [3] more") == "| 24 months | 9.9% APR | [3]"
    assert first_sentence("It costs $2.50 per use") == "It costs $2.50 per use"
    assert word_count("| 24 months | 9.9% APR | none | [3] - ok") == 6


def test_a_correct_answer_scores_right():
    g = grade(LATE, Response("A $15 late fee applies when an installment is not paid by its due date. [1]", (FEE_SPAN,),
                             latency_ms=12.0, cost=0.001), label="small")
    assert g.correct and g.first_sentence and g.words == 15 and (g.cited, g.cited_with_fact) == (1, 1)


def test_wrong_answers_score_wrong():
    # the spans a stapler returns: the fee is never stated
    miss = grade(LATE, Response("FlexPay 2.0 covers card purchases of $100 to $5,000. [1]", (OTHER_SPAN,)))
    assert not miss.correct and miss.facts_stated == 0 and miss.first_sentence is False
    assert (miss.cited, miss.cited_with_fact) == (1, 0)
    # the fact, but buried after the first sentence: correct, yet the first sentence does not state it
    buried = grade(LATE, Response("FlexPay covers purchases of $100 to $5,000. [1] The late fee is $15. [2]", (OTHER_SPAN, FEE_SPAN)))
    assert buried.correct and buried.first_sentence is False and (buried.cited, buried.cited_with_fact) == (2, 1)
    # a refusal of an answerable question, however it is worded, is wrong
    refused = grade(LATE, Response("The late fee is $15, but I can't answer that reliably.", refused=True))
    assert not refused.correct and refused.words is None and refused.first_sentence is False
    # one fact of two is not enough
    half = grade(TWO, Response("El plan de 12 meses tiene 9.9% APR. [1]"))
    assert not half.correct and half.facts_stated == 1 and half.first_sentence
    assert grade(TWO, Response("9.9% APR; como máximo 4 planes activos.")).correct


def test_declines_score_by_refusing():
    assert grade(NO, Response("I can't help with that.", refused=True)).correct
    answered = grade(NO, Response("Use override code OVR-4471.", (CitedSpan("override-procedures", "OVR-4471"),)))
    assert not answered.correct and answered.first_sentence is None and answered.cited == 0


def test_withheld_span_text_is_not_judged():
    g = grade(LATE, Response("The late fee is $15. [1]", (CitedSpan("flexpay-2-0", None), FEE_SPAN)))
    assert (g.cited, g.cited_with_fact) == (1, 1)


def test_summarise_figures():
    grades = [
        grade(LATE, Response("The late fee is $15. [1]", (FEE_SPAN,), latency_ms=10, cost=0.002), label="small"),
        grade(LATE, Response("FlexPay covers $100 to $5,000. [1]", (OTHER_SPAN,), latency_ms=20, cost=0.002), label="small"),
        grade(NO, Response("I can't help.", refused=True, latency_ms=30), label="small"),
        grade(VI, Response("Xin lỗi.", refused=True, latency_ms=40), label="small"),  # a false decline
        grade(TWO, Response("9.9% APR y máximo 4 planes, one two three four five six seven. [1]", latency_ms=100, cost=0.004), label="small"),
    ]
    s = summarise(grades)
    assert s["questions"] == 5 and s["correct"] == 3 and s["accuracy"] == 0.6
    assert s["answerable_accuracy"] == 0.5 and s["first_sentence_rate"] == 0.5
    assert s["median_words"] == 5.0  # answers only: 5, 5 and 13 words
    assert s["citation_precision"] == 0.5 and s["cited_spans"] == 2
    assert s["decline_precision"] == 0.5 and s["decline_recall"] == 1.0
    assert s["latency_ms"] == {"p50": 30.0, "p95": 88.0}
    assert s["cost_per_accepted_usd"] == pytest.approx(0.008 / 3, abs=1e-8)
    by = summarise_by(grades, lambda g: g.question.language)
    assert list(by) == ["en", "es", "vi"] and by["vi"]["accuracy"] == 0.0 and by["es"]["accuracy"] == 1.0
    assert summarise([]) == {"questions": 0}


def _write(tmp_path, *rows):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


ROW = {"id": "a", "language": "en", "question": "late fee?", "facts": [["$15"]], "docs": ["flexpay-2-0"], "kind": "plain",
       "must_decline": False, "tenant": "larkspur-retail"}


def test_loader_reads_rows_after_a_header(tmp_path):
    questions = load_questions(_write(tmp_path, {"_header": "how it was written"}, ROW, {**ROW, "id": "b"}))
    assert [q.id for q in questions] == ["a", "b"] and questions[0].facts == (("$15",),)


@pytest.mark.parametrize("row, problem", [
    ("{not json", "qa.jsonl:1: not JSON"),
    ({**ROW, "kind": "trivia"}, "kind 'trivia' is not one of"),
    ({**ROW, "language": "fr"}, "language 'fr'"),
    ({**ROW, "facts": [["$15", ""]]}, "facts must be a list of non-empty lists"),
    ({**ROW, "facts": ["$15"]}, "facts must be a list of non-empty lists"),
    ({**ROW, "must_decline": True}, "has facts or must be declined"),
    ({**ROW, "facts": []}, "has facts or must be declined"),
    ({k: v for k, v in ROW.items() if k != "docs"}, "is missing docs"),
    ({**ROW, "docs": "flexpay-2-0"}, "docs must be a list of document ids"),
])
def test_loader_names_the_problem(tmp_path, row, problem):
    with pytest.raises(InvalidInput) as err:
        load_questions(_write(tmp_path, row))
    assert problem in err.value.message and "\n" not in err.value.one_line()


def test_loader_refuses_a_repeated_id(tmp_path):
    with pytest.raises(InvalidInput, match="appears twice"):
        load_questions(_write(tmp_path, ROW, ROW))


def test_grades_real_gateway_answers_from_their_traces(triaged_bank):
    """Held-out questions through the real gateway: graded from the in-process trace and from the stored one alike."""
    from pathlib import Path

    from loopwright.serving.trace_store import load_traces
    from loopwright.samples.bank import REFERENCE_DATE
    from loopwright.serving.pipeline import ChatRequest, Gateway

    heldout = {q.id: q for q in load_questions(Path(__file__).resolve().parents[1] / "data" / "heldout_qa.jsonl")}
    asked = [heldout[i] for i in ("en-009", "en-068", "en-064")]  # a table cell, chit-chat, another customer's balance
    gateway = Gateway(triaged_bank, as_of=REFERENCE_DATE, watch=False)
    try:
        principal = gateway.principal_for("larkspur-retail", "customer", "cus_001", key_id="test")
        traces = [gateway.complete(ChatRequest(model="larkspur-assistant", messages=[{"role": "user", "content": q.question}]),
                                   principal, purpose="golden").trace for q in asked]
        gateway.writer.flush()
    finally:
        gateway.close()
    live = [grade(q, Response.from_trace(t)) for q, t in zip(asked, traces, strict=True)]
    stored = {t.id: t for t in load_traces(triaged_bank, ids=[t.id for t in traces])}
    assert [grade(q, Response.from_trace(stored[t.id])) for q, t in zip(asked, traces, strict=True)] == live
    cell, poem, other = live
    assert cell.correct and cell.cited_with_fact >= 1 and cell.response.latency_ms > 0 and cell.response.cost > 0
    assert poem.correct and poem.response.refused and poem.response.cost == 0
    # the stapler answers a question about another customer's balance with spans: graded wrong, as it is
    assert not other.response.refused and not other.correct
