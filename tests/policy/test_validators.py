"""Output validators over real retrieval types: grounding, citations, PII leak, sensitivity ceiling, the registry."""

from __future__ import annotations

from datetime import date

import pytest

from loopwright.corpus.documents import Document
from loopwright.corpus.retrieval import RetrievalResult, Span
from loopwright.policy import validators as v
from loopwright.policy.principal import Principal
from loopwright.policy.loader import load_policy
from loopwright.samples.bank.install import CONFIG_DIR

POLICY = load_policy((CONFIG_DIR / "policy.toml").read_bytes())
LIVE = "c" * 64
RETAIL = Principal("larkspur-retail", "customer", ("retail",), "cus_001")
AGENT = Principal("larkspur-staff", "agent", ("retail", "staff"), "agent_1")
ADMIN = Principal("larkspur-staff", "admin", ("retail", "staff"), "admin_1")

DISPUTE = "You can dispute a card transaction within 60 days of the statement date. Call 1-800-555-0100 for help."
RUNBOOK = "Agents may waive the late fee once per customer per year when the supervisor code is entered."


def _doc(doc_id, sensitivity="public", audience=("retail",)):
    return Document(id=doc_id, title=doc_id, effective_date=date(2026, 1, 1), certified=True, sensitivity=sensitivity,
                    audience=audience, source="test", licence="internal")


DOCS = {"disputes": _doc("disputes"), "fee-waivers": _doc("fee-waivers", "restricted", ("staff",))}


def _span(doc_id, text, start=100, commit=LIVE):
    return Span(doc_id=doc_id, title=doc_id, commit=commit, chunk_id=f"{doc_id}#0", rank=1, start=start,
                end=start + len(text), kind="sentence", text=text, context="", score=0.9, relevance=0.8)


def _result(*spans):
    return RetrievalResult(query="q", commit=LIVE, commit_ref="corpus/bank@3", tree="t", status="ok", decline=False,
                           reason="", spans=list(spans), passages=[], stale_evidence=[], fingerprint="f",
                           as_of="2026-11-29", scopes=["retail"], max_sensitivity="internal")


def _ctx(answer, citations, retrieved=None, principal=RETAIL, live=LIVE):
    retrieved = list(citations) if retrieved is None else retrieved
    return v.OutputContext(answer, citations, _result(*retrieved), principal, POLICY, live_commit=live, documents=DOCS)


def _check(name, ctx):
    return v.get_validator(name).check(ctx, v.get_validator(name).settings_in(POLICY))


def test_a_grounded_cited_answer_passes_every_validator():
    span = _span("disputes", DISPUTE)
    answer = "You can dispute a card transaction within 60 days of the statement date [disputes]. Hope that helps!"
    verdicts = v.run_output_validators(_ctx(answer, [span]))
    assert [x.name for x in verdicts] == ["citations", "grounding", "pii_leak", "sensitivity_ceiling"]
    assert all(x.passed and x.action == "allow" for x in verdicts), verdicts
    assert v.decide(verdicts) == "allow"


@pytest.mark.parametrize(
    "answer, claim",
    [
        ("You can dispute a card transaction within 90 days of the statement date.", "duration '90 days'"),
        ("You have two months from the statement date to dispute a charge [1].", "duration 'two months'"),
        ("Puede disputar una transacción dentro de los noventa días [1].", "duration 'noventa días'"),
        ("Bạn có 30 ngày để khiếu nại [1].", "duration '30 ngày'"),
    ],
)
def test_grounding_names_the_claim_no_cited_span_states(answer, claim):
    verdict = _check("grounding", _ctx(answer, [_span("disputes", DISPUTE)]))
    assert not verdict.passed and verdict.claims == (claim,) and claim in verdict.reason
    assert (verdict.rule, verdict.action) == ("validators.grounding", "fallback")  # the sample's on_fail


@pytest.mark.parametrize("answer", [
    "You have sixty days from the statement date to dispute a card transaction [1].",
    "Tiene 60 días desde la fecha del estado de cuenta para disputar [1].",
    "Ban co sau muoi ngay de khieu nai [1].",
    "Disputes: call 1-800-555-0100 within 60 days [1]. Happy to help!",
])
def test_grounding_passes_faithful_paraphrases(answer):
    assert _check("grounding", _ctx(answer, [_span("disputes", DISPUTE)])).passed


def test_each_sentence_is_checked_against_the_spans_it_cites():
    other = _span("fees", "A stop payment costs $30.", start=900)
    ctx = _ctx("Disputes are due within 60 days [1]. A stop payment is $30 [1].", [_span("disputes", DISPUTE), other])
    verdict = _check("grounding", ctx)
    assert not verdict.passed and verdict.claims == ("amount '$30'",)  # [1] is the dispute span, not the fee
    assert _check("grounding", _ctx("Disputes are due within 60 days [1]. A stop payment is $30 [2].",
                                    [_span("disputes", DISPUTE), other])).passed


def test_grounding_needs_a_citation_for_facts_but_not_for_pleasantries():
    assert not _check("grounding", _ctx("The fee is $35 per item.", [])).passed
    assert _check("grounding", _ctx("Happy to help!", [])).passed


def test_the_extractive_stapler_always_passes_its_own_spans():
    spans = [_span("disputes", DISPUTE), _span("fees", "| 12 months | 9.9% APR | none |", start=700)]
    answer = " ".join(f"{' '.join(s.text.split())} [{n}]" for n, s in enumerate(spans, 1))
    assert _check("grounding", _ctx(answer, spans)).passed


def test_a_stapled_table_row_is_its_own_support_and_a_changed_cell_is_not():
    row = "| Incoming, domestic | $0 | | Domestic, outgoing | $25 | | Incoming, international | $15 |"
    assert _check("grounding", _ctx(f"{row} [1]", [_span("fees", row, start=700)])).passed
    other = "| 24 months | 9.9% APR | none |"
    assert _check("grounding", _ctx(f"{row} [1] {other} [2]", [_span("fees", row, start=700), _span("flexpay", other)])).passed
    rows, prose = "| 12 months | 9.9% APR | none | | 24 months | 9.9% APR | none |", "- There is no setup fee. - Late fee $15."
    stapled = f"{rows} [1] {prose} [2]"  # the answer's first sentence ends inside span 2, before its mark
    assert _check("grounding", _ctx(stapled, [_span("flexpay", rows), _span("flexpay", prose, start=900)])).passed
    changed = row.replace("$25", "$35")
    verdict = _check("grounding", _ctx(f"{changed} [1]", [_span("fees", row, start=700)]))
    assert not verdict.passed and "amount '$35'" in verdict.claims


def test_word_overlap_is_an_option_the_sample_leaves_off():
    hallucinated = "Disputes are handled by our overseas partner bank's arbitration committee quickly [1]."
    ctx = _ctx(hallucinated, [_span("disputes", DISPUTE)])
    assert _check("grounding", ctx).passed  # no claim in it: nothing a span could contradict
    strict = v.get_validator("grounding").settings.model_validate({"min_overlap": 0.5})
    verdict = v.get_validator("grounding").check(ctx, strict)
    assert not verdict.passed and "words are in the cited spans" in verdict.reason


def test_citations_must_be_live_retrieved_and_visible():
    span = _span("disputes", DISPUTE)
    stale = _span("disputes", DISPUTE, commit="d" * 64)
    assert "not the live" in _check("citations", _ctx("x", [stale], [span])).reason
    other = _span("disputes", "made up words", start=5000)
    assert "not a span retrieved" in _check("citations", _ctx("x", [other], [span])).reason
    forged = _span("disputes", "You can dispute a card transaction within 90 days")
    assert "differs" in _check("citations", _ctx("x", [forged], [span])).reason
    hidden = _span("fee-waivers", RUNBOOK)
    verdict = _check("citations", _ctx("x", [hidden], [hidden], principal=RETAIL))
    assert not verdict.passed and "restricted, above the tenant's internal" in verdict.reason
    assert _check("citations", _ctx("x", [hidden], [hidden], principal=AGENT)).passed


def test_pii_leak_flags_personal_data_but_not_text_from_the_evidence():
    span = _span("disputes", DISPUTE)
    ok = _check("pii_leak", _ctx("Call 1-800-555-0100 for help [disputes].", [span]))
    assert ok.passed
    leak = _check("pii_leak", _ctx("Your SSN 521-44-7812 is on file; call 1-800-555-0100.", [span]))
    assert not leak.passed and "US_SSN" in leak.reason and "521-44-7812" not in leak.reason
    assert leak.action == "decline"


def test_sensitivity_ceiling_summarises_restricted_text_for_agents_not_admins():
    span = _span("fee-waivers", RUNBOOK)
    answer = RUNBOOK + " Anything else?"
    verdict = _check("sensitivity_ceiling", _ctx(answer, [span], principal=AGENT))
    assert not verdict.passed and verdict.action == "summarize" and "fee-waivers" in verdict.reason
    assert "ceiling (internal)" in verdict.reason
    summary = v.summarize_above_ceiling(_ctx(answer, [span], principal=AGENT))
    assert "fee-waivers" in summary and "Anything else?" in summary
    assert not (v._shingles(summary, 6) & v._shingles(RUNBOOK, 6))  # nothing verbatim
    assert _check("sensitivity_ceiling", _ctx(answer, [span], principal=ADMIN)).passed
    assert v.decide([verdict]) == "summarize"


def test_a_users_validator_registers_through_the_same_extension_point():
    @v.output_validator("no_shouting")
    def no_shouting(ctx, settings):
        """No answer in capitals."""
        if ctx.answer.isupper():
            return v.failed("no_shouting", "validators.no_shouting", "answer is all capitals", settings.on_fail)
        return v.passed("no_shouting", "validators.no_shouting")

    try:
        text = (CONFIG_DIR / "policy.toml").read_text() + '\n[validators.no_shouting]\non_fail = "escalate"\n'
        policy = load_policy(text)
        ctx = v.OutputContext("HELLO THERE", [], None, RETAIL, policy)
        verdict = v.run_output_validators(ctx)[-1]
        assert (verdict.name, verdict.passed, verdict.action) == ("no_shouting", False, "escalate")
        assert {"grounding", "citations", "pii_leak", "sensitivity_ceiling", "no_shouting"} <= set(v.registered_validators())
    finally:
        v._VALIDATORS.pop("no_shouting")


def test_decide_orders_actions_by_severity():
    a = v.failed("a", "r", "x", "escalate")
    b = v.failed("b", "r", "x", "decline")
    assert v.decide([a, b]) == "decline" and v.decide([a]) == "escalate" and v.decide([]) == "allow"
