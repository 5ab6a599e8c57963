"""A streamed answer: the backend's tokens as it produces them, released through output policy's hold-back window.

    stream = gateway.stream(request, principal)   # stages up to generation have run (errors raise here)
    for text in stream:                           # text checked up to a sentence boundary, then released
        send(text)
    stream.completion                             # finish_reason, tokens, the `loopwright` object; trace queued

The window holds what the backend has written past the last sentence
boundary (a sentence's citation marks, `[1]`, stay with it). Each sentence is
released once output policy passes the whole answer so far: in governed mode
the validators on the released text plus that sentence; in pass-through mode
its personal data is masked first. If the first sentence already fails,
nothing has left, so the answer is settled as a buffered call would settle it
(summarised, escalated once, or declined) and sent whole. If a later one
fails, the stream ends there with finish_reason `content_filter`, the trace's
`stream.stopped` set and an `output.stream_stopped` policy fired.

An answer settled before generation (cache hit, decline, a tool's result) is
sent as one piece: there are no tokens to wait for.

A call of one of the caller's own tools streams as the backend produces it:
`ToolCallDelta`s (id and name, then argument fragments) pass straight through,
and the answer finishes with `tool_calls`. They are the caller's functions'
arguments, not an answer to check against the evidence, so no window holds them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from loopwright.serving.backends import Generation
from loopwright.serving.call import Answer
from loopwright.serving.tool_calls import ToolCallDelta
from loopwright.serving.tokens import count_message_tokens, count_tokens
from loopwright.serving.trace import ErrorRecord, StreamRecord, Tokens

if TYPE_CHECKING:
    from loopwright.serving.call import Call, Completion
    from loopwright.serving.pipeline import Gateway

# End of a sentence (with its citation marks) or of a line, where the next sentence has begun.
_BOUNDARY = re.compile(r"(?:[.!?。](?:[\"')\]]*)(?:\s*\[\d{1,3}(?:,\s*\d{1,3})*\])*\s+|\n+)(?=[^\s\[])")
STOPPED = "content_filter"


class HoldBack:
    """Text fed in as it comes; `ready()` gives what is complete up to the last sentence boundary."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, delta: str) -> None:
        self.pending += delta

    def ready(self) -> str:
        """Every complete sentence held, or "" while the current one is unfinished."""
        end = 0
        for m in _BOUNDARY.finditer(self.pending):
            end = m.end()
        out, self.pending = self.pending[:end], self.pending[end:]
        return out

    def rest(self) -> str:
        out, self.pending = self.pending, ""
        return out


class Stream:
    """Iterate for released text; `completion` is set when the iteration ends (trace queued then)."""

    def __init__(self, gateway: Gateway, call: Call):
        self.gateway, self.call = gateway, call
        self.trace_id = call.trace.id
        self.model = call.request.model
        self.completion: Completion | None = None
        # What generation has reached: set up by `_generate`, read by `_offer` and `_stop`.
        self._check = self._request = self._tokens = self._generation = None
        self._window, self._released, self._masked = HoldBack(), "", 0
        self._last = None  # output policy's latest verdicts on the answer so far (governed mode)
        self._chunks = self._run()
        self._first: list[str] = []

    def start(self) -> Stream:
        """Run until the first text is released (or the answer is complete), so a failure before any text
        (an upstream that is down, say) raises here, where the caller can still answer with an error status."""
        self._first = [chunk for chunk in [next(self._chunks, None)] if chunk is not None]
        return self

    def __iter__(self) -> Iterator[str | ToolCallDelta]:
        yield from self._first
        self._first = []
        yield from self._chunks

    def close(self) -> None:
        """Stop early (the client went away): the trace is recorded as such."""
        self._chunks.close()

    def _run(self) -> Iterator[str]:
        g, call = self.gateway, self.call
        record = StreamRecord(chunks=0, stopped=False, reason=None, ttft_ms=None)
        call.trace.stream = record
        try:
            with g._recorded(call, False):
                if call.settled:
                    yield from self._release(record, call.answer.text)
                else:
                    yield from self._generate(record)
                self.completion = g._respond(call)
        except GeneratorExit:
            call.trace.outcome = "error"
            call.trace.error = ErrorRecord(type="ClientDisconnected", message="the client closed the stream")
            g.record(call)
            raise

    def _release(self, record: StreamRecord, text: str | ToolCallDelta) -> Iterator[str | ToolCallDelta]:
        if not text:
            return
        if record.ttft_ms is None:
            record.ttft_ms = round((time.perf_counter() - self.call.started) * 1e3 + self.call.trace.stages.get("auth", 0.0), 3)
        record.chunks += 1
        yield text

    def _generate(self, record: StreamRecord) -> Iterator[str]:
        g, call = self.gateway, self.call
        self._check = g.output_policy(call)
        self._request = g.generation_request(call)
        self._tokens = _timed(call, "generate", g.backend(call.bundle, call.tier).stream(self._request))
        try:
            for item in self._tokens:
                if isinstance(item, Generation):
                    self._generation = item
                    if item.escalate is not None and not self._released:  # it will not answer: settle it buffered
                        g._generate(call, first=item)
                        yield from self._release(record, call.answer.text)
                        return
                    break
                if isinstance(item, ToolCallDelta):
                    yield from self._release(record, item)
                    continue
                self._window.feed(item)
                if not (yield from self._offer(record, self._window.ready())):
                    return
            if not (yield from self._offer(record, self._window.rest())):
                return
        finally:
            self._tokens.close()
        released, generation = self._released, self._generation or Generation(self._released)
        if generation.tool_calls:
            g._generated(call, generation)
            g._returned(call, replace(generation, text=released))
            return
        if self._masked:
            call.trace.fire("pii.output", "pii.actions", f"masked {self._masked} value(s) in the output")
        if self._last is not None:
            call.trace.validators = [self._check.safe_reason(v) for v in self._last.verdicts]
        g._generated(call, generation)
        numbers = self._request.cited(released)
        keep_finish = call.passthrough or call.request.steering.wants_json
        call.answer = Answer(released, g.cited(call, numbers), numbers,
                             finish_reason=generation.finish_reason if keep_finish else "stop")

    def _offer(self, record: StreamRecord, piece: str) -> Iterator[str]:
        """Release `piece` if the answer with it passes output policy; False when the stream is settled otherwise:
        by the buffered path when nothing has left yet, else stopped after what has."""
        if not piece:
            return True
        call = self.call
        with call.timed("output_policy"):
            if call.passthrough:
                piece, masked = self._check.mask(piece)
                self._masked += masked
                ok = True
            else:
                text = self._released + piece
                self._last = self._check.check(text, self.gateway.cited(call, self._request.cited(text)))
                ok = self._last.action == "allow" and not self._last.summarized
        if ok:
            self._released += piece
            yield from self._release(record, piece)
            return True
        if not self._released:  # nothing has left: settle it as a buffered call would, then send it whole
            whole = self._generation or _drain(self._tokens, self._request, piece + self._window.rest())
            self.gateway._generate(call, first=whole)
            yield from self._release(record, call.answer.text)
        else:
            self._stop(record)
        return False

    def _stop(self, record: StreamRecord) -> None:
        """End the stream after what has been released: output policy failed on the next sentence."""
        g, call, checked = self.gateway, self.call, self._last
        request, released, generation = self._request, self._released, self._generation
        call.trace.validators = [self._check.safe_reason(v) for v in checked.verdicts]
        reason = "; ".join(v.reason for v in call.trace.validators if not v.passed) or "a source above the caller's ceiling"
        record.stopped, record.reason = True, reason
        call.trace.fire("output.stream_stopped", "validators", f"stream ended after {len(released)} characters: {reason}")
        if generation is None:
            generation = Generation(released, tokens_in=count_message_tokens(request.messages_for_model()),
                                    tokens_out=count_tokens(released))
        call.trace.tokens = Tokens(in_=generation.tokens_in, out=generation.tokens_out)
        if generation.info:
            call.trace.generation = generation.info
        call.outcome = "escalated" if checked.action == "escalate" else "declined"
        numbers = request.cited(released)
        call.answer = Answer(released, g.cited(call, numbers), numbers, kind="stopped", finish_reason=STOPPED,
                             cacheable=False)


def _timed(call: Call, stage: str, items: Iterator) -> Iterator:
    """`items`, with the time spent waiting on each added to `trace.stages[stage]`."""
    it = iter(items)
    try:
        while True:
            with call.timed(stage):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def _drain(tokens: Iterator, request, text: str) -> Generation:
    """The whole generation: the rest of the backend's stream read (the caller has seen none of it)."""
    for item in tokens:
        if isinstance(item, Generation):
            return item
        text += item
    return Generation(text, citations=request.cited(text), tokens_in=count_message_tokens(request.messages_for_model()),
                      tokens_out=count_tokens(text))
