"""Citations parsed from generated text: the marks a model writes, the numbers the trace keeps, the stream's boundary."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loopwright.serving.backends.base import cited_numbers
from loopwright.serving.call import Answer, Call
from loopwright.serving.streaming import HoldBack


@pytest.mark.parametrize(("text", "numbers"), [
    ("The late fee is $15. [2]", [2]),
    ("Fee $15 [3]. Plans up to 24 months [1, 2].", [3, 1, 2]),
    ("Both apply [1][3] and again [3].", [1, 3]),
    ("Out of range [9] and [0] cite nothing.", []),
    ("No marks at all.", []),
    ("A footnote-like [12] with 12 spans? no: 5 spans.", []),
])
def test_cited_numbers_in_first_cited_order_within_the_evidence(text, numbers):
    assert cited_numbers(text, 5) == numbers


def _span(doc: str, start: int) -> SimpleNamespace:
    return SimpleNamespace(doc_id=doc, title=doc, commit="c" * 64, start=start, end=start + 5, text="hello", score=0.5)


def test_trace_citations_keep_the_number_the_text_gives():
    call = Call(request=None, principal=None, bundle=None, trace=None, started=0.0)
    call.answer = Answer("Fee $15. [3] Plans [1]", [_span("b", 10), _span("a", 0)], [3, 1])
    assert [(c.n, c.doc_id) for c in call.citations()] == [(3, "b"), (1, "a")]
    call.answer = Answer("stapled [1] [2]", [_span("a", 0), _span("b", 10)])  # no numbers: 1, 2, ... in order
    assert [(c.n, c.doc_id) for c in call.citations()] == [(1, "a"), (2, "b")]


def test_a_sentence_keeps_its_grouped_citation_mark_in_the_stream():
    window = HoldBack()
    window.feed("The fee is $15 [1, 2]. Next")
    assert window.ready() == "The fee is $15 [1, 2]. "
    window.feed(" one is $29. [3] And")
    assert window.ready() == "Next one is $29. [3] "
