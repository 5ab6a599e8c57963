"""The evidence-answering LM's trainer and the sample's copy-and-cite pairs, on real tiny models trained here."""

from __future__ import annotations

import pytest

from loopwright.errors import InvalidInput
from loopwright.samples.bank.generator import answer_text, copy_answer, family, heldout_family
from loopwright.training.generator import GeneratorConfig, encode_example, train_generator


def _example(n: int) -> list[dict[str, str]]:
    evidence = f"[1] Wire cutoff is 5 pm.\n[2] The fee is ${n}."
    return [{"role": "system", "content": "Answer from the evidence."},
            {"role": "user", "content": f"Evidence:\n{evidence}\n\nCustomer question: what is fee {n}?"},
            {"role": "assistant", "content": f"The fee is ${n}. [2]"}]


def test_train_generator_scores_only_the_answer_learns_and_caches(cache_dir):
    examples = [_example(n) for n in range(10, 30)]
    config = GeneratorConfig(vocab_size=400, hidden_size=32, layers=1, heads=2, intermediate_size=64, steps=40,
                             batch_size=4, context_length=256)
    trained = train_generator(examples, config)
    report = trained.report()
    assert report["examples"]["trained"] == 20 and report["loss"]["last"] < 0.8 * report["loss"]["first"]

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(trained.folder)
    ids, start = encode_example(tokenizer, examples[0])
    assert tokenizer.decode(ids[start:], skip_special_tokens=True) == "The fee is $10. [2]"
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    again = train_generator(examples, config)
    assert again.cache_hit and again.folder == trained.folder


def test_examples_must_end_with_an_answer():
    with pytest.raises(InvalidInput, match="assistant"):
        train_generator([_example(1)[:-1]], GeneratorConfig.small())


def _span(text: str) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(text=text)


def test_copy_answer_cites_the_fewest_top_spans_holding_the_facts():
    spans = [_span("Cutoff is 5 pm Eastern."), _span("| Domestic | $25 |"), _span("| International | $45 |")]
    assert copy_answer(spans, ("$25",)) == "Domestic: $25. [2]"
    assert copy_answer(spans, ("$25", "$45")) == "Domestic: $25. [2] International: $45. [3]"
    assert copy_answer(spans, ("$99",)) is None
    assert answer_text("- Rate: 3.80% APY on all balances.") == "Rate: 3.80% APY on all balances."


def test_the_split_holds_out_whole_families():
    assert family("disputes-es") == "disputes" and heldout_family("disputes-vi") and heldout_family("disputes")
    assert not heldout_family("flexpay-2-0-es")
