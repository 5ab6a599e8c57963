"""Chunks follow the document's structure and their offsets point at the cited text."""

from __future__ import annotations

from loopwright.corpus.chunking import MAX_CHARS, chunk_document, split_sentences
from loopwright.corpus.documents import read_document, read_documents

from loopwright.samples.bank import DATA_DIR

BANK_DOCS = DATA_DIR / "docs"

BODY = """Intro sentence one. Intro sentence two, e.g. with an abbreviation.

## Fees

- A $15 late fee applies when an installment is late.
- Paying early is free.

| Plan | APR |
|---|---|
| 3 months | 0% APR |
| 12 months | 9.9% APR |

## Long

""" + " ".join(f"Sentence number {i} says something about plans." for i in range(60))


def test_structure_rows_lists_and_headings(tmp_path, make_doc):
    doc = read_document(make_doc(tmp_path, "plans", BODY, title="Plans"))
    chunks = chunk_document(doc)
    rows = [c for c in chunks if c.kind == "row"]
    assert [r.text for r in rows] == ["| 3 months | 0% APR |", "| 12 months | 9.9% APR |"]
    for r in rows:  # a row keeps its header, and is one span
        assert r.context == "Plans > Fees\n| Plan | APR |"
        assert [(s.kind, doc.text[s.start : s.end]) for s in r.spans] == [("row", r.text)]
    fees = next(c for c in chunks if "late fee" in c.text)
    assert fees.context == "Plans > Fees"
    assert [doc.text[s.start : s.end] for s in fees.spans] == [
        "- A $15 late fee applies when an installment is late.",
        "- Paying early is free.",
    ]
    intro = chunks[0]
    assert [doc.text[s.start : s.end] for s in intro.spans] == [
        "Intro sentence one.",
        "Intro sentence two, e.g. with an abbreviation.",
    ]
    long = [c for c in chunks if c.context == "Plans > Long"]
    assert len(long) > 1 and all(len(c.text) <= MAX_CHARS for c in long)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.content_hash for c in chunks}) == len(chunks)


def test_offsets_and_spans_hold_for_every_sample_document():
    for doc in read_documents([BANK_DOCS]):
        chunks = chunk_document(doc)
        assert chunks, doc.id
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert c.start >= doc.body_start
            assert c.spans and all(c.start <= s.start < s.end <= c.end for s in c.spans)
            assert c.index_text.startswith(doc.meta.title)


def test_sentence_split_keeps_numbers_and_abbreviations():
    text = "Rates are 3.80% APY. Goal Saver pays 4.10% on the first $10,000. Call us, i.e. the team."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Rates are 3.80% APY.",
        "Goal Saver pays 4.10% on the first $10,000.",
        "Call us, i.e. the team.",
    ]
