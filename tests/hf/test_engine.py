"""The continuous-batching engine on a tiny random Llama built here: batched greedy equals one-at-a-time
`generate`, rows join and leave between decode steps, LoRA adapters attach and detach under load."""

from __future__ import annotations

import random
import threading

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

from loopwright.errors import InvalidInput, Overloaded  # noqa: E402
from loopwright.hf.engine import (  # noqa: E402
    EngineClosed,
    GenerationEngine,
    GenerationFailed,
    PromptTooLong,
    QueueFull,
    UnknownAdapter,
)

VOCAB, CONTEXT, EOS, PAD = 300, 128, 1, 0
WORDS = "the quick brown fox jumps over a lazy dog how do i freeze my card what is the rate on savings".split()


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<pad>": PAD, "<eos>": EOS, "<unk>": 2}
    vocab.update({w: i + 3 for i, w in enumerate(dict.fromkeys(WORDS))})
    vocab.update({f"w{i}": i for i in range(len(vocab), VOCAB)})  # every model id decodes to a word
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                                unk_token="<unk>")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=CONTEXT,
                                      eos_token_id=EOS, pad_token_id=PAD, bos_token_id=None)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def adapter_dir(model, tmp_path_factory):
    """A rank-8 LoRA on q_proj and v_proj with random (non-zero) B, so it changes outputs."""
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    lora = get_peft_model(copy.deepcopy(model),
                          LoraConfig(r=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    path = tmp_path_factory.mktemp("lora")
    lora.save_pretrained(path)
    return str(path)


@pytest.fixture
def engine(model, tokenizer):
    made = []

    def make(**kwargs):
        made.append(GenerationEngine(model, tokenizer, **kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def prompts(n: int, seed: int = 0) -> list[list[int]]:
    rnd = random.Random(seed)
    return [[rnd.randrange(3, VOCAB) for _ in range(rnd.randrange(2, 24))] for _ in range(n)]


def reference(model, prompt: list[int], n: int) -> list[int]:
    """One-at-a-time greedy `generate`, cut at end-of-sequence."""
    out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         max_new_tokens=n, do_sample=False, eos_token_id=EOS, pad_token_id=PAD)
    ids = out[0, len(prompt):].tolist()
    return ids[:ids.index(EOS)] if EOS in ids else ids


def test_batched_greedy_equals_one_at_a_time_generate(model, engine):
    # ragged prompts, ragged lengths, more requests than rows: rows join and leave mid-run
    ps = prompts(12)
    lengths = [3 + 4 * (i % 5) for i in range(len(ps))]
    e = engine(max_batch=5)
    handles = [e.submit(p, max_new_tokens=n) for p, n in zip(ps, lengths, strict=True)]
    got = [list(h.result(30).token_ids) for h in handles]
    assert got == [reference(model, p, n) for p, n in zip(ps, lengths, strict=True)]


def test_short_request_does_not_wait_for_a_long_one(engine):
    e = engine(max_batch=4, window_ms=50)  # a wide window: both are prefilled in the same batch
    long, short = e.submit(prompts(1)[0], max_new_tokens=100), e.submit(prompts(1, 1)[0], max_new_tokens=3)
    res = short.result(30)
    assert res.tokens_out == 3 and res.finish_reason == "length"
    assert not long.done  # the short one left the batch while the long one kept decoding
    assert long.result(30).tokens_out == 100 and long.result().total_s > res.total_s


def test_queue_full_raises_429_and_does_not_grow(engine):
    e = engine(max_batch=1, max_queue=2)
    running = e.submit(prompts(1)[0], max_new_tokens=100)
    next(iter(running))  # it holds the only row now
    queued = [e.submit(p, max_new_tokens=2) for p in prompts(2, 1)]
    for _ in range(50):
        with pytest.raises(QueueFull) as err:
            e.submit(prompts(1, 2)[0], max_new_tokens=2)
    assert e.queued == 2 and isinstance(err.value, Overloaded)
    assert all(h.result(30).tokens_out == 2 for h in queued)


def test_prompt_too_long_names_both_numbers(engine):
    e = engine()
    with pytest.raises(PromptTooLong, match=f"100 tokens .* 40 .* {CONTEXT}"):
        e.submit([5] * 100, max_new_tokens=40)
    with pytest.raises(InvalidInput, match="vocabulary"):
        e.submit([VOCAB + 5], max_new_tokens=4)


def test_stream_deltas_add_up_to_the_text(engine, tokenizer):
    e = engine()
    h = e.submit("how do i freeze my card", max_new_tokens=12)
    deltas = list(h)
    res = h.result(1)
    assert len(deltas) == 12 and "".join(deltas) == res.text == tokenizer.decode(list(res.token_ids))
    assert res.tokens_in == 6 and 0 < res.ttft_s <= res.total_s


def test_sampling_is_seeded_and_differs_from_greedy(model, engine):
    e = engine()
    p = prompts(1)[0]
    a, b = (e.submit(p, max_new_tokens=16, temperature=1.5, seed=3).result(30) for _ in range(2))
    assert a.token_ids == b.token_ids and list(a.token_ids) != reference(model, p, 16)


def test_adapter_attach_under_load_mixed_batch_and_detach(model, tokenizer, adapter_dir):
    import copy

    e = GenerationEngine(copy.deepcopy(model), tokenizer, max_batch=16)  # PEFT wraps the model it is given in place
    ps = prompts(6)
    refs = [reference(model, p, 10) for p in ps]
    in_flight = [e.submit(p, max_new_tokens=40) for p in ps]
    next(iter(in_flight[0]))
    took = e.attach_adapter("canary", adapter_dir)
    assert took < 1.0 and e.adapters == ["canary"]
    # one batch, rows on the adapter and rows on the base
    on_lora = [e.submit(p, max_new_tokens=10, adapter="canary") for p in ps]
    on_base = [e.submit(p, max_new_tokens=10) for p in ps]
    assert [list(h.result(30).token_ids[:10]) for h in in_flight] == refs  # none dropped, none disturbed
    assert [list(h.result(30).token_ids) for h in on_base] == refs
    assert sum(list(h.result(30).token_ids) != r for h, r in zip(on_lora, refs, strict=True)) >= 5
    # detach waits for the requests that use it, then the base answers as before
    draining = e.submit(ps[0], max_new_tokens=60, adapter="canary")
    e.detach_adapter("canary")
    assert draining.done and draining.result().tokens_out == 60
    with pytest.raises(UnknownAdapter):
        e.submit(ps[0], adapter="canary")
    assert list(e.submit(ps[1], max_new_tokens=10).result(30).token_ids) == refs[1]
    e.close()


def test_close_fails_pending_requests(engine):
    e = engine(max_batch=1)
    running, queued = e.submit(prompts(1)[0], max_new_tokens=100), e.submit(prompts(1, 1)[0], max_new_tokens=100)
    next(iter(running))
    e.close()
    for h in (running, queued):
        with pytest.raises(EngineClosed):
            h.result(5)
    with pytest.raises(EngineClosed):
        e.submit([5], max_new_tokens=2)


def test_a_failing_forward_fails_its_batch_and_the_engine_keeps_serving(model, engine, monkeypatch):
    e = engine()
    calls = threading.Event()
    forward = model.forward

    def fail_once(*args, **kwargs):
        if not calls.is_set():
            calls.set()
            raise RuntimeError("injected fault")
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", fail_once)
    with pytest.raises(GenerationFailed, match="injected fault"):
        e.submit(prompts(1)[0], max_new_tokens=4).result(30)
    p = prompts(1, 1)[0]
    assert list(e.submit(p, max_new_tokens=4).result(30).token_ids) == reference(model, p, 4)
