"""Retrieval on the sample bank corpus: stale declines, certification, revert fingerprints, scope isolation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopwright.corpus import commits
from loopwright.corpus.chunking import chunk_document
from loopwright.corpus.commits import parsed_documents
from loopwright.corpus.index import Selection
from loopwright.corpus.retrieval import Retriever, deployed_rules
from loopwright.corpus.rules import RetrievalRules
from loopwright.errors import ConfigError, InvalidInput, NotFound
from loopwright.samples.bank import DATA_DIR, REFERENCE_DATE

FLEXPAY_Q = "What purchase amounts can I split with FlexPay?"
RETAIL = "larkspur-retail"


def _search(retriever, query, **kw):
    kw.setdefault("tenant", RETAIL)
    return retriever.search(query, as_of=REFERENCE_DATE, **kw)


def _evidence(result):
    """The result minus the commit identity, for comparing two commits with the same tree."""
    data = result.to_dict()
    for key in ("commit", "commit_ref", "timings_ms"):
        data.pop(key)
    for span in data["spans"] + data["stale_evidence"]:
        span.pop("commit")
    return data


def test_flexpay_stale_then_certified_then_reverted(bank_ws):
    r = Retriever(bank_ws)
    start = _search(r, FLEXPAY_Q)
    assert start.commit_ref == "corpus/bank@1"
    assert start.status == "stale" and start.decline
    assert "flexpay-1-0" in start.reason and "retired on 2026-08-31" in start.reason
    assert start.spans == [] and start.passages == []
    assert start.stale_evidence and start.stale_evidence[0].doc_id == "flexpay-1-0"
    assert start.stale_evidence[0].stale == "retired on 2026-08-31"

    commits.stage_certify(bank_ws, "flexpay-2-0")
    certified = commits.commit(bank_ws, "Certify FlexPay 2.0")
    after = _search(r, FLEXPAY_Q)
    assert after.commit == certified.digest
    assert after.status == "ok" and not after.decline
    top = after.spans[0]
    assert top.doc_id == "flexpay-2-0" and "$100" in top.text and "$5,000" in top.text
    text = commits.parsed_documents(bank_ws, certified.documents)
    doc_text = next(p.text for meta, p in text if meta.id == "flexpay-2-0")
    assert doc_text[top.start : top.end] == top.text  # offsets cite the committed document
    assert all(s.doc_id != "flexpay-1-0" for s in after.spans)

    reverted = commits.revert(bank_ws, "head")
    again = _search(Retriever(bank_ws), FLEXPAY_Q)
    assert again.commit == reverted.digest != start.commit
    assert again.fingerprint == start.fingerprint
    assert json.dumps(_evidence(again), sort_keys=True) == json.dumps(_evidence(start), sort_keys=True)


def test_a_question_is_answered_from_the_page_in_its_own_language(bank_ws):
    r = Retriever(bank_ws)
    docs = lambda result: {s.doc_id for s in result.spans}  # noqa: E731
    english = docs(_search(r, "What is the stop payment fee?", k=3, language="en"))
    assert "fee-schedule" in english and not any(d.endswith(("-es", "-vi")) for d in english)
    spanish = docs(_search(r, "¿Cuánto cuesta una transferencia internacional?", k=3, language="es"))
    assert spanish and all(d.endswith("-es") for d in spanish) and "wire-transfers-es" in spanish
    # a page with no Spanish version stays eligible for a Spanish question; the English page with one does not
    index = r.index(r.commit())
    allowed = Selection(np.ones(len(index), dtype=bool))
    kept = {index.docs[d].id for d in index.chunk_doc[index.in_language(allowed, "es").mask]}
    assert {"holiday-schedule-2026", "fee-schedule-es", "wire-transfers-es"} <= kept
    assert not kept & {"fee-schedule", "wire-transfers", "fee-schedule-vi", "wire-transfers-vi"}
    # narrowed once per cached selection, and the same answer when it comes from there
    assert index.in_language(allowed, "es") is index.in_language(allowed, "es")
    assert docs(_search(r, "What is the stop payment fee?", k=3, language="en")) == english


def test_retail_never_sees_staff_or_restricted_text(bank_ws):
    r = Retriever(bank_ws)
    commit = r.commit()
    hidden = {
        meta.id: parsed
        for meta, parsed in parsed_documents(bank_ws, commit.documents)
        if "retail" not in meta.audience or meta.sensitivity == "restricted"
    }
    assert {"override-procedures", "credit-risk-scoring-note", "aml-monitoring-thresholds"} <= set(hidden)
    queries = [c.text for parsed in hidden.values() for c in chunk_document(parsed)][:80]
    queries += ["What override code do agents use to reverse a fee? OVR-4471", "LRS-3 score band cutoffs 612"]
    for q in queries:
        res = _search(r, q, k=10)
        cited = {s.doc_id for s in res.spans + res.stale_evidence}
        assert not cited & set(hidden), (q, cited & set(hidden))
        assert all(p.doc_id not in hidden for p in res.passages)
    # the same text is found by a caller whose scope covers it
    staff = _search(r, "What override code do agents use to reverse a fee?", tenant="larkspur-staff")
    assert staff.spans[0].doc_id == "override-procedures"


def test_missing_and_caller_errors(bank_ws):
    r = Retriever(bank_ws)
    off_topic = _search(r, "What's a good pasta recipe?")
    assert off_topic.status == "missing" and off_topic.decline and off_topic.spans == []
    with pytest.raises(NotFound, match="no retrieval rules for tenant 'nobody'"):
        _search(r, "fees", tenant="nobody")
    with pytest.raises(InvalidInput):
        r.search("fees")  # no caller at all
    with pytest.raises(InvalidInput, match="empty"):
        _search(r, "   ")
    with pytest.raises(NotFound):
        _search(r, "fees", commit="corpus/bank@7")


def test_rules_come_from_the_deployed_policy(bank_ws):
    rules = deployed_rules(bank_ws)
    assert rules.tenant(RETAIL).scopes == ("retail",) and rules.max_age_days == 180
    r = Retriever(bank_ws)
    lenient = rules.model_copy(update={"certified_only": False})
    res = _search(r, FLEXPAY_Q, rules=lenient)
    assert res.status == "ok" and res.spans[0].doc_id == "flexpay-2-0"  # the draft is visible when allowed
    answer_stale = rules.model_copy(update={"decline_if_stale": False})
    res = _search(r, FLEXPAY_Q, rules=answer_stale)
    assert res.status == "stale" and not res.decline and res.spans[0].doc_id == "flexpay-1-0"
    with pytest.raises(ConfigError, match="retrieval.certifed_only"):
        RetrievalRules.from_policy_toml("[retrieval]\ncertifed_only = true\n")
    with pytest.raises(ConfigError, match="max_sensitivity"):
        RetrievalRules.from_policy_toml('[retrieval.tenants.x]\nscopes = ["a"]\nmax_sensitivity = "secret"\n')
    assert RetrievalRules.from_policy_toml("[other]\nx = 1\n") == RetrievalRules()


def test_index_is_loaded_not_rebuilt_and_results_are_deterministic(bank_ws, monkeypatch):
    first = _search(Retriever(bank_ws), "How much is the FlexPay late fee?")
    from loopwright.corpus.index import CorpusIndex

    def no_build(*a, **k):
        raise AssertionError("index rebuilt")

    monkeypatch.setattr(CorpusIndex, "build", no_build)
    second = _search(Retriever(bank_ws), "How much is the FlexPay late fee?")
    assert second.fingerprint == first.fingerprint and second.spans == first.spans


def test_index_in_an_older_format_is_rebuilt_not_refused(bank_ws):
    from loopwright.corpus.index import FORMAT

    r = Retriever(bank_ws)
    first = _search(r, "How much is the FlexPay late fee?")
    info_path = bank_ws.state_dir / "indexes" / first.tree / "index.json"
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "format": FORMAT - 1}))
    again = _search(Retriever(bank_ws), "How much is the FlexPay late fee?")
    assert again.fingerprint == first.fingerprint
    assert json.loads(info_path.read_text())["format"] == FORMAT


def test_spanish_function_words_do_not_rank():
    from loopwright.corpus.index import tokenize

    # "el", "es", "para" and the question word are not evidence of anything, accented or not
    assert tokenize("¿Cuál es el monto mínimo para FlexPay?") == ["monto", "mínimo", "flexpay"]
    assert tokenize("Cual es el monto minimo para flexpay") == ["monto", "minimo", "flexpay"]
    assert tokenize("What is the minimum for FlexPay plans?") == ["minimum", "flexpay", "plan"]


def test_goldens_recall_guard(bank_ws):
    """A quality floor, not the benchmark: hybrid top-5 cites an expected document for answerable goldens."""
    commits.stage_certify(bank_ws, "flexpay-2-0")
    commits.stage_certify(bank_ws, "flexpay-2-0-es")
    commits.stage_certify(bank_ws, "flexpay-2-0-vi")
    commits.commit(bank_ws, "Certify FlexPay 2.0 and translations")
    r = Retriever(bank_ws)
    goldens = [json.loads(line) for line in (DATA_DIR / "goldens.jsonl").read_text().splitlines() if line.strip()]
    answerable = [g for g in goldens if g["must_cite"]]
    hits = 0
    for g in answerable:
        res = _search(r, g["input"], tenant=g["tenant"])
        hits += any(s.doc_id in g["must_cite"] for s in res.spans)
    assert hits / len(answerable) >= 0.9


def test_cli_search(bank_ws):
    import typer
    from typer.testing import CliRunner

    from loopwright.cli import corpus as corpus_cli

    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        pass

    corpus_cli.register(root)
    args = ["search", FLEXPAY_Q, "--as-of", REFERENCE_DATE.isoformat(), "--workspace", str(bank_ws.root)]
    out = CliRunner().invoke(root, [*args, "--tenant", RETAIL, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["status"] == "stale" and data["decline"] and len(data["fingerprint"]) == 64
    out = CliRunner().invoke(root, [*args, "--scope", "retail", "--scope", "staff", "--max-sensitivity", "restricted"])
    assert out.exit_code == 0 and "fingerprint" in out.stdout
    out = CliRunner().invoke(root, args)
    assert isinstance(out.exception, InvalidInput) and "--tenant" in out.exception.one_line()


def test_a_question_about_a_document_the_caller_may_not_cite_declines(bank_ws):
    r = Retriever(bank_ws)
    rules = deployed_rules(bank_ws)
    assert rules.decline_if_withheld  # the sample policy's
    question = "What override code do agents type to reverse a fee?"
    withheld = _search(r, question)
    assert withheld.status == "missing" and withheld.decline and withheld.spans == []
    assert "may not cite" in withheld.reason and "override" not in withheld.reason  # the staff page is not named
    # without the rule the customer is answered from the public pages that share the question's words
    lenient = _search(r, question, rules=rules.model_copy(update={"decline_if_withheld": False}))
    assert lenient.status == "ok" and lenient.spans and all(s.doc_id != "override-procedures" for s in lenient.spans)
    # the staff page's own readers are answered from it; a public question is answered as before
    assert _search(r, question, tenant="larkspur-staff").spans[0].doc_id == "override-procedures"
    assert _search(r, "What is the stop payment fee?").status == "ok"


def test_spans_per_chunk_adds_each_chunks_next_spans_after_the_best_ones(bank_ws):
    r = Retriever(bank_ws)
    question = "How do I avoid the checking maintenance fee?"
    one, three = _search(r, question, k=3), _search(r, question, k=3, spans_per_chunk=3)
    assert three.spans[: len(one.spans)] == one.spans  # each chunk's best span first, as with one per chunk
    assert len(three.spans) > len(one.spans) and len({(s.doc_id, s.start) for s in three.spans}) == len(three.spans)
    assert {s.chunk_id for s in three.spans} == {s.chunk_id for s in one.spans}
    texts = {meta.id: parsed.text for meta, parsed in parsed_documents(bank_ws, r.commit().documents)}
    assert all(texts[s.doc_id][s.start : s.end] == s.text for s in three.spans)
    assert three.fingerprint != one.fingerprint and three.passages == one.passages
    with pytest.raises(InvalidInput, match="spans_per_chunk"):
        _search(r, question, spans_per_chunk=0)
