"""The lever advisor on planted traffic: each scenario is one of the demo's phases, and it must pick that phase's lever.

The traces are built here as the gateway would record them (the typed
`Trace`), with a deterministic share of defects, declines and repeats.
"""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from loopwright.cli import app as cli
from loopwright.observe.advisor import Said, advise_traces, record_call, shared_term
from loopwright.policy.schema import AdvisorRules
from loopwright.registry.payloads import AdvisorCall
from loopwright.registry.receipts import list_receipts
from loopwright.serving.trace import (
    CacheLookup, Caller, Citation, RetrievalSummary, RouteRecord, Trace, TriageRecord,
)
from loopwright.serving.trace_store import TraceWriter

INTENTS = ("flexpay", "savings_rates", "wire_transfer", "fees", "branch_hours", "account_opening", "dispute_initiation")
WORDS = ("please", "today", "my", "account", "how", "when", "what", "much", "need", "help", "card", "online", "app",
         "again", "quick", "question", "about", "the", "bank", "thanks", "weekend", "monday", "transfer", "limit",
         "savings", "rate", "branch", "open", "close", "fee", "plan", "monthly", "yearly", "balance", "check",
         "deposit", "loan", "credit", "debit", "statement", "phone", "email", "address", "change", "update")


def call(i: int, rng: random.Random, *, intent: str, language: str = "en", defect: bool = False, tier: str = "small",
         confidence: float = 0.9, stale: tuple[str, ...] = (), text: str | None = None, hit: bool = False,
         declined: bool = False, doc: str | None = None) -> Trace:
    words = text or " ".join(rng.sample(WORDS, 4))
    doc = doc or f"{intent}-doc"
    return Trace(
        id=f"tr_{i:024x}", ts=f"2026-11-29T10:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i % 10}00000Z",
        principal=Caller(tenant="larkspur-retail", role="customer"), channel="stable", deployment_version=1,
        model="larkspur-assistant", input=f"{intent.replace('_', ' ')} {words}", language=language,
        triage=TriageRecord(intent=intent, confidence=confidence),
        route=RouteRecord(tier=None if declined else tier, escalated=tier == "large"),
        retrieval=RetrievalSummary(commit="c1", status="stale" if stale else "ok", decline=declined, stale=list(stale)),
        citations=[] if declined else [Citation(n=1, doc_id=doc, title=doc, commit="c1", start=0, end=10, text="x", score=0.9)],
        cache=CacheLookup(hit=hit), tier=None if declined else tier, latency_ms=120.0, cost=0.0 if declined else 0.002,
        outcome="declined" if declined else ("defect" if defect else "accepted"),
        decline_reason="the only evidence is stale" if declined else None,
    )


def week1_stale_flexpay(rng: random.Random) -> list[Trace]:
    """inference_first: FlexPay questions decline on a stale FlexPay 1.0 page; the rest is fine."""
    return [call(i, rng, intent=INTENTS[i % 7], declined=i % 7 == 0, stale=("flexpay-1-0",) if i % 7 == 0 else (),
                 defect=i % 97 == 5) for i in range(350)]


def economics(rng: random.Random) -> list[Trace]:
    """economics: every call on the large tier, confident and right; a third repeats an earlier question."""
    asked: list[str] = []
    traces = []
    for i in range(400):
        repeat = i % 3 == 0 and asked
        text = rng.choice(asked) if repeat else " ".join(rng.sample(WORDS, 4))
        asked.append(text)
        traces.append(call(i, rng, intent=INTENTS[i % 6], tier="large", text=text, defect=i % 101 == 7))
    return traces


def self_learning_grace(rng: random.Random) -> list[Trace]:
    """self_learning: chargeback-grace questions triaged as dispute_initiation fail, in every language."""
    traces = []
    for i in range(700):
        intent, language = INTENTS[i % 7], ("en", "es", "vi")[i % 3]
        if intent == "dispute_initiation" and i % 2:
            traces.append(call(i, rng, intent=intent, language=language, defect=True,
                               text=f"chargeback grace period {' '.join(rng.sample(WORDS, 2))}"))
        else:
            traces.append(call(i, rng, intent=intent, language=language, defect=i % 53 == 0))
    return traces


def training_vietnamese(rng: random.Random) -> list[Trace]:
    """training: Vietnamese lags on every intent; English and Spanish are fine."""
    traces = []
    for i in range(900):
        language = ("en", "es", "vi")[i % 3]
        defect = (i // 3) % 4 == 0 if language == "vi" else i % 41 == 0
        traces.append(call(i, rng, intent=INTENTS[i % 7], language=language, defect=defect))
    return traces


def healthy(rng: random.Random) -> list[Trace]:
    """Nothing to change: few, evenly spread defects, the small tier used, the cache catching its repeats."""
    return [call(i, rng, intent=INTENTS[i % 7], language=("en", "es", "vi")[i % 3], defect=i % 50 == 0,
                 hit=i % 10 == 0) for i in range(600)]


@pytest.mark.parametrize("scenario, lever", [
    (week1_stale_flexpay, "corpus"), (economics, "router"), (self_learning_grace, "adapter"), (training_vietnamese, "training"),
])
def test_each_phase_gets_the_case_studys_lever(scenario, lever):
    advice = advise_traces(scenario(random.Random(7)), AdvisorRules())
    assert advice.lever == lever, [f.title for f in advice.findings]


def test_the_findings_carry_their_evidence():
    rules = AdvisorRules()
    stale = advise_traces(week1_stale_flexpay(random.Random(7)), rules).findings[0]
    assert stale.evidence["document"] == "flexpay-1-0" and stale.evidence["calls"] == 50
    assert "loopwright corpus add NEW_VERSION_OF_flexpay-1-0.md" in stale.command  # no draft given: write one

    grace = advise_traces(self_learning_grace(random.Random(7)), rules).findings[0]
    assert grace.evidence["intent"] == "dispute_initiation" and grace.evidence["shared_term"] in {"chargeback", "grace", "period"}
    assert "learn adapter --target triage" in grace.command

    vi = advise_traces(training_vietnamese(random.Random(7)), rules)
    assert [f.lever for f in vi.findings] == ["training"]  # the lagging language explains its intents: no adapter
    assert vi.findings[0].evidence["language"] == "vi"
    assert vi.findings[0].evidence["intents_lagging"] == vi.findings[0].evidence["intents_compared"] == 7

    money = advise_traces(economics(random.Random(7)), rules)
    assert [f.lever for f in money.findings] == ["router", "cache"]


def test_a_wrong_page_read_by_several_intents_is_a_corpus_finding():
    rng = random.Random(7)
    traces = [call(i, rng, intent=INTENTS[i % 7], doc="fee-schedule" if i % 5 == 0 else None,
                   defect=i % 5 == 0 and i % 2 == 0) for i in range(700)]
    (finding,) = advise_traces(traces, AdvisorRules()).findings
    assert (finding.lever, finding.evidence["document"]) == ("corpus", "fee-schedule")


def test_a_stale_page_with_a_newer_draft_is_fixed_by_certifying_the_draft():
    traces = week1_stale_flexpay(random.Random(7))
    drafts = ("flexpay-2-0", "flexpay-2-0-es", "goal-saver-boost-draft", "flexpay-2-0-agent-notes")
    top = advise_traces(traces, AdvisorRules(), drafts).findings[0]
    assert top.lever == "corpus" and top.evidence["waiting_for_certification"] == ["flexpay-2-0", "flexpay-2-0-es"]
    assert top.command == ("loopwright corpus certify flexpay-2-0 && loopwright corpus certify flexpay-2-0-es && "
                           "loopwright corpus commit -m 'certify flexpay-2-0, flexpay-2-0-es'")
    # once FlexPay 2.0 is certified and live, declining questions about the retired 1.0 is right: no finding
    assert advise_traces(traces, AdvisorRules(), (), ("flexpay-2-0", "fees")).findings == []
    # another page of the same product (staff notes) is no newer version of this one
    assert advise_traces(traces, AdvisorRules(), ("flexpay-2-0",), ("flexpay-2-0-agent-notes",)).findings[0].lever == "corpus"
    alone = advise_traces(traces, AdvisorRules()).findings[0]
    assert "corpus add NEW_VERSION_OF_flexpay-1-0.md" in alone.command and "no newer version" in alone.title


def test_healthy_traffic_gets_no_finding():
    assert advise_traces(healthy(random.Random(7)), AdvisorRules()).findings == []


def test_quality_comes_before_cost():
    traces = economics(random.Random(7))
    for t in traces[::8]:
        t.outcome = "defect"
    assert "router" not in {f.lever for f in advise_traces(traces, AdvisorRules()).findings}


def test_shared_term_is_the_word_that_sets_the_bad_apart():
    bad = ["grace period on my refund", "is the grace period over", "chargeback grace ends when"]
    good = ["open a dispute on my card", "dispute a charge on my refund", "my refund never came"]
    assert shared_term(bad, good) == ("grace", 3)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_reads_the_store_under_the_live_policy(bank):
    writer = TraceWriter(bank)
    for t in self_learning_grace(random.Random(7)):
        writer.submit(t.to_dict())
    writer.close()
    result = CliRunner().invoke(cli, ["advise", "--workspace", str(bank.root), "--json"])
    assert result.exit_code == 0, result.output
    advice = json.loads(result.output)
    assert advice["calls"] == 700 and advice["lever"] == "adapter"
    assert advice["findings"][0]["evidence"]["intent"] == "dispute_initiation"


def test_a_stale_page_whose_calls_were_judged_right_is_housekeeping_after_the_cost():
    rng = random.Random(7)
    traces = economics(rng)
    stale = [call(1000 + i, rng, intent="savings_rates", declined=True, stale=("rewards-checking-2025",)) for i in range(12)]
    approved = {t.id: Said(verdict=1) for t in stale[:10]}  # the judge passed the decline: the page must not answer
    advice = advise_traces(traces + stale, AdvisorRules(), said=approved)
    assert [f.lever for f in advice.findings] == ["router", "cache", "corpus"]
    assert not advice.findings[-1].pressing and advice.findings[-1].evidence["lost_calls"] == 2
    # the same page, its declines thumbed down: answers lost, so it comes first
    lost = {t.id: Said(verdict=-1) for t in stale}
    assert advise_traces(traces + stale, AdvisorRules(), said=lost).findings[0].lever == "corpus"


def test_an_agents_label_counts_the_call_under_its_intent_and_a_misroute_as_a_defect():
    rng = random.Random(7)
    traces, said = [], {}
    for i in range(600):
        intent = INTENTS[i % 7]
        # a third of the dispute questions triaged as chargeback grace, right otherwise; agents label every call
        triaged = "chargeback_grace" if intent == "dispute_initiation" and i % 3 == 0 else intent
        text = "refunded charge dispute" if triaged != intent else None
        traces.append(call(i, rng, intent=triaged, text=text))
        said[traces[-1].id] = Said(correction=intent)
    (finding,) = advise_traces(traces, AdvisorRules(), said=said).findings
    assert (finding.lever, finding.evidence["intent"]) == ("adapter", "dispute_initiation")
    assert finding.evidence["misrouted_to"] == {"chargeback_grace": finding.evidence["defects"]}
    assert finding.evidence["shared_term"] in {"refunded", "charge"}
    assert advise_traces(traces, AdvisorRules()).findings == []  # without the labels the outcomes say nothing


def test_two_languages_lagging_are_two_training_findings():
    rng = random.Random(7)
    traces = []
    for i in range(1200):
        language = ("en", "es", "vi")[i % 3]
        defect = {"en": i % 41 == 0, "es": (i // 3) % 5 == 0, "vi": (i // 3) % 3 == 0}[language]
        traces.append(call(i, rng, intent=INTENTS[i % 7], language=language, defect=defect))
    advice = advise_traces(traces, AdvisorRules())
    assert [(f.lever, f.evidence["language"]) for f in advice.findings] == [("training", "vi"), ("training", "es")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_recorded_call_reads_back_typed(workspace):
    advice = advise_traces(self_learning_grace(random.Random(7)), AdvisorRules())
    receipt = record_call(workspace, advice, ["tr_b", "tr_a"], asked_by="test", planned=("adapter",))
    with workspace.session() as s:
        (read,) = list_receipts(s, action="advisor.call")
    assert read.id == receipt.id and isinstance(read.payload, AdvisorCall)
    assert (read.payload.after.lever, read.payload.after.followed, read.payload.before.calls) == ("adapter", True, 700)
    assert read.payload.before.first == advice.first and read.details["findings"][0]["evidence"]["intent"] == "dispute_initiation"
