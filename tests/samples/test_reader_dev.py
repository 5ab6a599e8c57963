"""The reader's dev set (`samples/bank/reader_dev.jsonl`) and the rewordings the reader trains on: the dev set
chooses thresholds, so it must share nothing with the held-out set that measures, and its facts must be in
the documents it names."""

import random
from pathlib import Path

from loopwright.corpus.documents import read_document
from loopwright.observe.answers import load_questions, normalise, states
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.reading import bank_examples
from loopwright.samples.bank.rewording import reword

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "loopwright" / "samples" / "bank" / "reader_dev.jsonl"
HELDOUT = ROOT / "tests" / "data" / "heldout_qa.jsonl"


def test_the_dev_set_shares_no_question_with_the_held_out_set():
    dev, held_out = load_questions(DEV), load_questions(HELDOUT)
    assert len(dev) >= 80 and {q.language for q in dev} == {"en", "es", "vi"}
    assert not {normalise(q.question) for q in dev} & {normalise(q.question) for q in held_out}


def test_every_dev_fact_is_stated_by_a_document_it_names():
    docs = {d.id: d for d in map(read_document, sorted((DATA_DIR / "docs").glob("*.md")))}
    for q in load_questions(DEV):
        for forms in q.facts:
            assert any(states(docs[d].text, forms) for d in q.docs), (q.id, forms)


def test_a_rewording_uses_words_the_question_lacked():
    rng = random.Random(0)
    question = "What is the minimum purchase for a FlexPay plan and the late fee?"
    reworded = [reword(question, "en", rng) for _ in range(20)]
    assert all(r != question for r in reworded)
    swapped = [r for r in reworded if {"smallest", "lowest", "least", "charge", "cost", "price"} & set(r.lower().split())]
    assert len(swapped) >= 15, reworded
    # Vietnamese and Spanish are sometimes typed without accents
    assert any(r.isascii() for r in (reword("phí trả chậm là bao nhiêu?", "vi", rng) for _ in range(20)))


def test_the_reading_examples_hold_reworded_answerable_questions():
    examples = bank_examples()
    questions = {e.question for e in examples if e.answer}
    assert "what is the apr for 12 months" not in questions  # lowercase, unpunctuated forms come from rewording only
    assert sum(q.islower() for q in questions) > len(questions) / 5
