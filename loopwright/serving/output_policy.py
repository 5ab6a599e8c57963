"""Output policy: what an answer must pass before any of it leaves, for a whole answer or a streamed prefix.

Governed mode runs the policy's output validators (grounding, citations,
personal data, sensitivity ceiling); above the caller's ceiling a source is
summarised, never quoted, and that holds for every field of the response:
the answer, the citations' text (withheld), and the validators' and policies'
reasons (a grounding failure quotes the sentence it failed on, which is also
masked for personal data). Pass-through
mode masks personal data in the output instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loopwright.policy.pii import PiiVault, conversation_secret, mask_text, scan
from loopwright.policy.validators import OutputContext, above_ceiling, decide, run_output_validators, summarize_above_ceiling
from loopwright.serving.trace import Citation, VerdictRecord

if TYPE_CHECKING:
    from loopwright.corpus.retrieval import Span
    from loopwright.serving.call import Call

CEILING_WITHHELD = "above the caller's sensitivity ceiling"


@dataclass(frozen=True)
class Checked:
    """The output policy's decision on one text."""

    action: str  # allow | decline | escalate (summarize is applied: `text` is the summary)
    text: str
    verdicts: list[VerdictRecord]
    summarized: bool = False


class OutputPolicy:
    """Checks answers for one call. `documents` and `live_commit` come from the call's corpus commit."""

    def __init__(self, call: Call, *, documents, live_commit: str | None, pii_key: bytes):
        self.call = call
        self.documents = documents
        self.live_commit = live_commit
        self.pii_key = pii_key

    def _context(self, text: str, spans: list[Span]) -> OutputContext:
        c = self.call
        return OutputContext(text, spans, c.evidence, c.principal, c.policy, live_commit=self.live_commit, documents=self.documents)

    def check(self, text: str, spans: list[Span]) -> Checked:
        """Governed mode: the validators' verdicts on `text` citing `spans`, with the ceiling's summary applied."""
        ctx = self._context(text, spans)
        verdicts = run_output_validators(ctx)
        action = decide(verdicts)
        records = [VerdictRecord(**v.to_dict()) for v in verdicts]
        if action == "summarize":
            return Checked("allow", summarize_above_ceiling(ctx), records, summarized=True)
        return Checked(action, text, records)

    def apply(self, text: str, spans: list[Span]) -> tuple[str, str]:
        """Output policy on a whole answer, recorded on the call's trace: the action and the text to send."""
        trace = self.call.trace
        if self.call.passthrough:
            text, masked = self.mask(text)
            if masked:
                trace.fire("pii.output", "pii.actions", f"masked {masked} value(s) in the output")
            return "allow", text
        checked = self.check(text, spans)
        trace.validators = [self.safe_reason(v) for v in checked.verdicts]
        if checked.summarized:
            trace.fire("sensitivity.ceiling", "sensitivity", "a source above the caller's ceiling: summary instead of verbatim text")
        return checked.action, checked.text

    def within_ceiling(self, citations: list[Citation]) -> list[Citation]:
        """`citations` with the text of every source above the caller's ceiling withheld."""
        restricted = self.restricted_docs() if citations else set()
        return [c.model_copy(update={"text": None, "withheld": CEILING_WITHHELD}) if c.doc_id in restricted else c
                for c in citations]

    def mask(self, text: str) -> tuple[str, int]:
        """Pass-through mode: `text` with personal data masked, and how many values were."""
        leaks = scan(text, self.call.policy.pii)
        if not leaks:
            return text, 0
        vault = PiiVault(conversation_secret(self.pii_key, self.call.trace.id))
        return mask_text(text, self.call.policy.pii, vault, hash_key=self.pii_key).text, len(leaks)

    def restricted_docs(self) -> set[str]:
        """Documents in the call's evidence above the caller's ceiling."""
        if self.call.evidence is None:
            return set()
        return {s.doc_id for s in above_ceiling(self._context("", []))}

    def safe_reason(self, verdict: VerdictRecord) -> VerdictRecord:
        """A failed verdict whose reason quotes the answer (grounding names the sentence) with that quote made as
        safe as the answer must be: personal data masked, a source above the ceiling summarised."""
        if verdict.passed:
            return verdict
        reason = self.mask(verdict.reason)[0]
        if self.call.evidence is not None:
            reason = summarize_above_ceiling(self._context(reason, []))
        return verdict if reason == verdict.reason else verdict.model_copy(update={"reason": reason})
