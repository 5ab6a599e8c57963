"""Continuous batching for a local Hugging Face causal LM: one worker thread owns the model.

    engine = GenerationEngine(model, tokenizer, max_batch=16)
    handle = engine.submit("How do I freeze my card?", max_new_tokens=64, adapter="canary-lora")
    for delta in handle:          # text deltas as tokens are produced
        ...
    handle.result()               # GenerationResult(text, tokens_in, tokens_out, finish_reason, ttft_s, total_s)
    engine.submit(ids, allowed=json_constraint(tokenizer, schema))   # constrained decoding (loopwright.hf.constrained)

The worker loops over decode steps. Between steps it runs adapter commands, admits
queued requests (prefilled together as one left-padded batch, then merged into the
running batch's KV cache) and drops finished rows, so a short answer never waits for
a long one. The running batch is one `DynamicCache`, left-padded to a common length:
rows are masked by `attention_mask` and carry their own `position_ids`, which is why
batched greedy output equals one-at-a-time greedy output.

We do not use transformers' own continuous batching (`generate_batch`, paged
attention): it flattens every request into one row, so PEFT's mixed-adapter batches
(`adapter_names=[...]`, one name per row) cannot apply, and stable and canary must
share a forward pass from one base model.

Errors (all `LoopwrightError`):

    QueueFull          the bounded queue is full: answer 429 and let the client retry
    PromptTooLong      prompt + max_new_tokens exceed the model's context (an InvalidInput)
    UnknownAdapter     a request names an adapter that is not attached (a NotFound)
    AdapterBusy        detach timed out waiting for requests that use the adapter (a ConflictError)
    EngineClosed       the engine was closed before the request finished
    GenerationFailed   the forward pass raised; the affected requests fail, the engine keeps serving
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Self

import torch
from transformers import DynamicCache

from loopwright.errors import ConflictError, InvalidInput, LoopwrightError, NotFound, Overloaded

log = logging.getLogger(__name__)

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


class QueueFull(Overloaded):
    """The request queue is full; the client should retry shortly (HTTP 429)."""


class PromptTooLong(InvalidInput):
    """The prompt plus the tokens asked for do not fit the model's context."""

    code = "context_length_exceeded"


class UnknownAdapter(NotFound):
    """A request or detach names an adapter that is not attached."""


class AdapterBusy(ConflictError):
    """An adapter could not be detached because requests still use it."""


class EngineClosed(LoopwrightError):
    """The engine is closed; the request did not finish."""


class GenerationFailed(LoopwrightError):
    """The model raised during this request's forward pass."""


@dataclass(frozen=True)
class GenerationResult:
    """A finished request."""

    text: str
    """The generated text (the concatenation of the streamed deltas)."""
    tokens_in: int
    tokens_out: int
    finish_reason: str
    """"stop" (end-of-sequence token) or "length" (max_new_tokens reached)."""
    ttft_s: float
    """Seconds from submit to the first generated token."""
    total_s: float
    """Seconds from submit to the last token."""
    token_ids: tuple[int, ...]


_END = object()  # end of a handle's stream


class Generation:
    """A submitted request: iterate it for text deltas, or call `result()` to wait for all of it."""

    def __init__(self, prompt_ids: list[int], max_new_tokens: int, temperature: float, adapter: str | None,
                 seed: int | None, allowed: Any = None):
        self.prompt_ids = prompt_ids
        self.allowed = allowed  # generated ids -> the token ids that may come next; None: any
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.adapter = adapter
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.submitted_at = time.perf_counter()
        self.first_token_at: float | None = None
        self._deltas: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Event()
        self._result: GenerationResult | None = None
        self._error: LoopwrightError | None = None

    def __iter__(self) -> Iterator[str]:
        while (delta := self._deltas.get()) is not _END:
            yield delta
        if self._error is not None:
            raise self._error

    def result(self, timeout: float | None = None) -> GenerationResult:
        """Wait for the request to finish; raises what failed it."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"generation not finished after {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _emit(self, delta: str) -> None:
        if delta:
            self._deltas.put(delta)

    def _finish(self, result: GenerationResult | None = None, error: LoopwrightError | None = None) -> None:
        self._result, self._error = result, error
        self._deltas.put(_END)
        self._done.set()


class _Row:
    """A request in the running batch: its next position and what it has generated so far."""

    def __init__(self, gen: Generation):
        self.gen = gen
        self.position = len(gen.prompt_ids)  # position id of the token fed at the next step
        self.tokens: list[int] = []
        self.text = ""  # decoded and emitted so far


class GenerationEngine:
    """Continuous batching at decode-step granularity over one model, with per-request LoRA adapters.

    `max_batch` rows decode together; `window_ms` is how long an idle engine waits after the
    first arrival to batch the prefill of requests that come right behind it; `max_queue`
    bounds the requests waiting to join (past it, `submit` raises `QueueFull`). `threads`, when
    given, sets torch's intra-op threads (a process-wide setting).
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_batch: int = 16, window_ms: float = 5.0,
                 max_queue: int = 64, max_new_tokens: int = 128, threads: int | None = None):
        if threads is not None:
            torch.set_num_threads(threads)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_batch, self.window_s, self.max_queue = max_batch, window_ms / 1000, max_queue
        self.max_new_tokens = max_new_tokens
        self.context = model.config.max_position_embeddings
        self.vocab_size = model.config.vocab_size
        self.eos_ids = _eos_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids, default=0)
        self._cv = threading.Condition()
        self._waiting: deque[Generation] = deque()
        self._commands: deque[tuple[Any, Future]] = deque()
        self._adapters: set[str] = set()
        self._draining: set[str] = set()
        self._in_use: dict[str, int] = {}  # adapter -> requests queued or running with it
        self._closed = False
        # The running batch; touched by the worker only.
        self._rows: list[_Row] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None  # (B, L) 1 where the cache holds a real token
        self._worker = threading.Thread(target=self._run, name="hf-engine", daemon=True)
        self._worker.start()

    # --- the caller's side ------------------------------------------------------------------------

    def submit(self, prompt: str | list[int], *, max_new_tokens: int | None = None, temperature: float | None = None,
               adapter: str | None = None, seed: int | None = None, allowed: Any = None) -> Generation:
        """Queue a request (text, or token ids used as given) and return its handle at once.

        Greedy when `temperature` is 0 or None, sampled otherwise (`seed` makes it repeatable).
        `allowed(generated_ids) -> token ids` restricts each pick (constrained decoding).
        Stops at the end-of-sequence token or after `max_new_tokens` (by default the engine's, cut to
        what the context leaves).
        """
        ids = self.tokenizer(prompt)["input_ids"] if isinstance(prompt, str) else list(prompt)
        n_new = min(self.max_new_tokens, self.context - len(ids)) if max_new_tokens is None else max_new_tokens
        if not ids or n_new < 1:
            raise InvalidInput("a request needs at least one prompt token and max_new_tokens >= 1")
        if len(ids) + n_new > self.context:
            raise PromptTooLong(f"prompt of {len(ids)} tokens + max_new_tokens {n_new} exceeds the model's "
                                f"context of {self.context} tokens", hint="shorten the prompt or ask for fewer tokens")
        if max(ids) >= self.vocab_size or min(ids) < 0:
            raise InvalidInput(f"prompt token id {max(ids)} is outside the model's vocabulary of {self.vocab_size}")
        gen = Generation(ids, n_new, temperature or 0.0, adapter, seed, allowed)
        with self._cv:
            if self._closed:
                raise EngineClosed("the generation engine is closed")
            if adapter is not None and (adapter not in self._adapters or adapter in self._draining):
                raise UnknownAdapter(f"adapter {adapter!r} is not attached", hint=f"attached: {sorted(self._adapters)}")
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"generation queue full ({self.max_queue} waiting)", hint="retry shortly")
            self._waiting.append(gen)
            if adapter is not None:
                self._in_use[adapter] = self._in_use.get(adapter, 0) + 1
            self._cv.notify_all()
        return gen

    def attach_adapter(self, name: str, path: str) -> float:
        """Load a PEFT LoRA adapter from `path` under `name`, between decode steps; returns seconds taken."""
        with self._cv:
            if name in self._adapters:
                raise ConflictError(f"adapter {name!r} is already attached", hint="detach it first or pick a new name")
        took = self._call(lambda: self._attach(name, path))
        with self._cv:
            self._adapters.add(name)
        return took

    def detach_adapter(self, name: str, *, timeout: float = 30.0) -> float:
        """Unload adapter `name`; returns seconds taken.

        New requests naming it are refused at once; requests already queued or running with it
        finish first (this waits up to `timeout` for them, then raises `AdapterBusy`).
        """
        with self._cv:
            if name not in self._adapters or name in self._draining:
                raise UnknownAdapter(f"adapter {name!r} is not attached", hint=f"attached: {sorted(self._adapters)}")
            self._draining.add(name)
            drained = self._cv.wait_for(lambda: not self._in_use.get(name) or self._closed, timeout)
            if not drained:
                self._draining.discard(name)
                raise AdapterBusy(f"adapter {name!r} still used by {self._in_use[name]} requests after {timeout} s",
                                  hint="retry once they finish, or route them elsewhere first")
        try:
            return self._call(lambda: self._detach(name))
        finally:
            with self._cv:
                self._adapters.discard(name)
                self._draining.discard(name)

    @property
    def queued(self) -> int:
        """Requests waiting to join the running batch."""
        with self._cv:
            return len(self._waiting)

    @property
    def adapters(self) -> list[str]:
        with self._cv:
            return sorted(self._adapters - self._draining)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker; every request not yet finished fails with `EngineClosed`."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._worker.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Any) -> float:
        """Run `fn` on the worker between decode steps; returns the seconds it took there."""
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise EngineClosed("the generation engine is closed")
            self._commands.append((fn, fut))
            self._cv.notify_all()
        return fut.result()

    def _attach(self, name: str, path: str) -> None:
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(path, adapter_name=name)
        else:  # the first adapter wraps the base model (in place: its layers gain LoRA branches)
            self.model = PeftModel.from_pretrained(self.model, path, adapter_name=name).eval()

    def _detach(self, name: str) -> None:
        if len(self.model.peft_config) == 1:  # the last one: PEFT cannot run with none, so unwrap the base model
            self.model = self.model.unload()
        else:
            self.model.delete_adapter(name)

    # --- the worker -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    self._cv.wait_for(lambda: self._closed or self._commands or self._waiting or self._rows)
                    if self._closed:
                        break
                    commands = list(self._commands)
                    self._commands.clear()
                for fn, fut in commands:
                    t0 = time.perf_counter()
                    try:
                        fn()
                        fut.set_result(time.perf_counter() - t0)
                    except Exception as exc:  # the caller gets it; serving goes on
                        fut.set_exception(exc)
                try:
                    self._admit()
                    if self._rows:
                        self._step()
                except Exception as exc:  # the cache may be half-updated: fail the batch, keep serving
                    log.exception("generation step failed")
                    rows, self._rows, self._cache, self._mask = self._rows, [], None, None
                    self._fail(rows, GenerationFailed(f"generation failed: {type(exc).__name__}: {exc}"))
        finally:
            self._shut_down()

    def _admit(self) -> None:
        """Prefill queued requests into the free rows; an idle engine first waits `window_s` for company."""
        free = self.max_batch - len(self._rows)
        with self._cv:
            if not self._waiting or free <= 0:
                return
            if not self._rows and len(self._waiting) < free:
                self._cv.wait_for(lambda: len(self._waiting) >= free or self._closed, self.window_s)
            new = [self._waiting.popleft() for _ in range(min(free, len(self._waiting)))]
        try:
            rows, cache, mask, logits = self._prefill(new)
        except Exception as exc:
            log.exception("prefill failed")
            self._fail([_Row(g) for g in new], GenerationFailed(f"prefill failed: {type(exc).__name__}: {exc}"))
            return
        self._merge(rows, cache, mask)
        self._advance(rows, logits)

    @torch.inference_mode()
    def _prefill(self, gens: list[Generation]) -> tuple[list[_Row], DynamicCache, torch.Tensor, torch.Tensor]:
        """One forward over the new prompts, left-padded to the longest."""
        width = max(len(g.prompt_ids) for g in gens)
        ids = torch.full((len(gens), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(gens), width), dtype=torch.long)
        for i, g in enumerate(gens):
            ids[i, width - len(g.prompt_ids):] = torch.tensor(g.prompt_ids)
            mask[i, width - len(g.prompt_ids):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        logits = self._forward(ids, mask, positions, cache, [g.adapter for g in gens])
        for layer in cache.layers:  # padded slots may hold NaN (a query that attends nothing): zero them
            layer.keys.masked_fill_(mask[:, None, :, None] == 0, 0)
            layer.values.masked_fill_(mask[:, None, :, None] == 0, 0)
        return [_Row(g) for g in gens], cache, mask, logits

    @torch.inference_mode()
    def _step(self) -> None:
        """One decode step for every running row."""
        ids = torch.tensor([[r.tokens[-1]] for r in self._rows])
        positions = torch.tensor([[r.position] for r in self._rows])
        mask = torch.cat([self._mask, torch.ones((len(self._rows), 1), dtype=torch.long)], dim=1)
        logits = self._forward(ids, mask, positions, self._cache, [r.gen.adapter for r in self._rows])
        self._mask = mask
        for r in self._rows:
            r.position += 1
        self._advance(self._rows, logits)

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: DynamicCache,
                 adapters: list[str | None]) -> torch.Tensor:
        """Last-position logits (B, V); with adapters attached, each row names its own (PEFT mixed batch)."""
        extra = {}
        if getattr(self.model, "peft_config", None):  # without names, PEFT would apply its active adapter to all
            extra["adapter_names"] = [a or BASE for a in adapters]
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                         logits_to_keep=1, **extra)
        return out.logits[:, -1].float()

    def _advance(self, rows: list[_Row], logits: torch.Tensor) -> None:
        """Pick each row's next token, stream it, and drop the rows that finished."""
        now = time.perf_counter()
        greedy = logits.argmax(-1).tolist()
        finished = []
        for i, r in enumerate(rows):
            g = r.gen
            token, row = greedy[i], logits[i]
            if g.allowed is not None:
                # Nothing allowed (the constraint is satisfied or stuck): end the sequence, never pick at random.
                row = _only(row, g.allowed(r.tokens) or sorted(self.eos_ids))
                token = int(row.argmax())
            if g.temperature > 0:
                probs = torch.softmax(row / g.temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=g.generator).item())
            if g.first_token_at is None:
                g.first_token_at = now
            if token in self.eos_ids:
                finished.append((r, "stop"))
                continue
            r.tokens.append(token)
            self._stream(r, hold=True)
            if len(r.tokens) >= g.max_new_tokens:
                finished.append((r, "length"))
        for r, reason in finished:
            g = r.gen
            self._stream(r, hold=False)
            self._release(g)
            g._finish(GenerationResult(
                text=r.text, tokens_in=len(g.prompt_ids), tokens_out=len(r.tokens), finish_reason=reason,
                ttft_s=g.first_token_at - g.submitted_at, total_s=now - g.submitted_at, token_ids=tuple(r.tokens)))
        if finished:
            self._drop({id(r) for r, _ in finished})

    def _stream(self, r: _Row, *, hold: bool) -> None:
        """Emit the text `r` gained; with `hold`, keep back a multi-byte character split across tokens."""
        text = self.tokenizer.decode(r.tokens, skip_special_tokens=True)
        if text.startswith(r.text) and not (hold and text.endswith("\ufffd")):
            r.gen._emit(text[len(r.text):])
            r.text = text

    def _merge(self, rows: list[_Row], cache: DynamicCache, mask: torch.Tensor) -> None:
        """Append prefilled rows to the running batch, left-padding whichever cache is shorter."""
        if not self._rows:
            self._rows, self._cache, self._mask = list(rows), cache, mask
            return
        width = max(self._mask.shape[1], mask.shape[1])
        for old, new in zip(self._cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([_left_pad(old.keys, width, 2), _left_pad(new.keys, width, 2)])
            old.values = torch.cat([_left_pad(old.values, width, 2), _left_pad(new.values, width, 2)])
        self._mask = torch.cat([_left_pad(self._mask, width, 1), _left_pad(mask, width, 1)])
        self._rows.extend(rows)

    def _drop(self, gone: set[int]) -> None:
        """Remove finished rows, and the leading cache columns no remaining row uses."""
        keep = [i for i, r in enumerate(self._rows) if id(r) not in gone]
        if not keep:
            self._rows, self._cache, self._mask = [], None, None
            return
        index = torch.tensor(keep)
        mask = self._mask[index]
        start = int(mask.any(0).int().argmax())  # first column some row still attends to
        self._mask = mask[:, start:]
        for layer in self._cache.layers:
            layer.keys = layer.keys[index, :, start:]
            layer.values = layer.values[index, :, start:]
        self._rows = [self._rows[i] for i in keep]

    def _release(self, gen: Generation) -> None:
        if gen.adapter is not None:
            with self._cv:
                self._in_use[gen.adapter] -= 1
                self._cv.notify_all()  # a detach may be waiting for this adapter to drain

    def _fail(self, rows: list[_Row], error: LoopwrightError) -> None:
        for r in rows:
            if r.gen.done:
                continue
            self._release(r.gen)
            r.gen._finish(error=error)

    def _shut_down(self) -> None:
        with self._cv:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
            commands, self._commands = list(self._commands), deque()
        error = EngineClosed("the generation engine closed before this request finished")
        self._fail(self._rows + [_Row(g) for g in waiting], error)
        self._rows, self._cache, self._mask = [], None, None
        for _, fut in commands:
            fut.set_exception(error)


def _only(logits: torch.Tensor, allowed: list[int]) -> torch.Tensor:
    """`logits` (V,) with every token outside `allowed` at -inf."""
    out = torch.full_like(logits, float("-inf"))
    index = torch.tensor(allowed, dtype=torch.long)
    out[index] = logits[index]
    return out


def _left_pad(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """`t` with zeros prepended along `dim` up to `width`."""
    missing = width - t.shape[dim]
    if missing == 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([t.new_zeros(shape), t], dim=dim)


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every end-of-sequence id the model's generation config or the tokenizer names."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return set(ids)
