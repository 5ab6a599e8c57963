"""The held-out answer set's shape: counts per language and kind, real document ids, and facts its documents hold.

`tests/data/heldout_qa.jsonl` measures answer quality (bench/bench_answers.py);
these checks catch a typo in the set itself: a fact no listed document states is
a fact no answer could be graded right on.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from loopwright.corpus.documents import read_document
from loopwright.observe.answers import KINDS, load_questions, normalise, states
from loopwright.samples.bank import DATA_DIR

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout_qa.jsonl"
TENANTS = {t["name"] for t in json.loads((DATA_DIR / "tenants.json").read_text(encoding="utf-8"))}
_DIACRITIC = re.compile(r"[àáâãèéêìíòóôõùúýăđĩũơưạ-ỹ]", re.IGNORECASE)


@pytest.fixture(scope="module")
def questions():
    return load_questions(HELDOUT)


@pytest.fixture(scope="module")
def documents():
    return {d.id: d for d in map(read_document, sorted((DATA_DIR / "docs").glob("*.md")))}


def test_header_says_how_it_was_written_and_forbids_training():
    header = json.loads(HELDOUT.read_text(encoding="utf-8").splitlines()[0])["_header"]
    assert "documents only" in header and "NEVER train" in header


def test_counts_per_language_and_kind(questions):
    languages = Counter(q.language for q in questions)
    assert len(questions) >= 150
    assert all(languages[lang] >= 50 for lang in ("en", "es", "vi")), languages
    for lang in ("en", "es", "vi"):
        kinds = Counter(q.kind for q in questions if q.language == lang)
        assert set(kinds) == set(KINDS), (lang, kinds)  # every kind in every language
        assert kinds["decline"] >= 8, (lang, kinds)
    vietnamese = [q.question for q in questions if q.language == "vi"]
    bare = sum(not _DIACRITIC.search(text) for text in vietnamese)
    assert 15 <= bare <= len(vietnamese) - 15, f"{bare} of {len(vietnamese)} Vietnamese questions without diacritics"


def test_rows_are_consistent(questions, documents):
    for q in questions:
        assert q.tenant in TENANTS, q.id
        assert set(q.docs) <= set(documents), (q.id, set(q.docs) - set(documents))
        assert q.must_decline == (q.kind == "decline"), q.id
        if not q.must_decline:
            assert q.docs, q.id
        if q.kind == "multi_part":
            assert len(q.facts) >= 2, q.id
    assert len({normalise(q.question) for q in questions}) == len(questions), "a question appears twice"


def test_every_fact_is_stated_in_a_document_it_names(questions, documents):
    missing = []
    for q in questions:
        bodies = [documents[d].text[documents[d].body_start:] for d in q.docs]
        missing += [(q.id, forms[0]) for forms in q.facts if not any(states(body, forms) for body in bodies)]
    assert not missing, f"facts no listed document states: {missing}"


def test_staff_questions_read_staff_documents(questions, documents):
    staff = [q for q in questions if q.tenant == "larkspur-staff"]
    assert staff
    for q in staff:
        assert any("staff" in documents[d].meta.audience for d in q.docs), q.id
    # the same staff documents, asked for by a retail customer, must be declined
    reached = {d for q in questions if q.must_decline and q.tenant == "larkspur-retail" for d in q.docs}
    assert {d for q in staff for d in q.docs} & reached
