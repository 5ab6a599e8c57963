"""`extractive`: answers with the evidence spans themselves, each cited. Grounded by construction.

`evidence_spans` bounds how many spans an answer may use: the sample's small
tier uses one, so it cannot answer a question whose facts sit in two places,
while the large tier uses several. Cost is what a generating model would read
(the rendered prompt) and write (the answer), so tiers compare honestly.
"""

from __future__ import annotations

from typing import Any

from loopwright.serving.backends.base import Backend, BackendContext, Generation, GenerationRequest, register_backend
from loopwright.serving.tokens import count_message_tokens, count_tokens


class ExtractiveBackend(Backend):
    name = "extractive"

    def __init__(self, options: dict[str, Any], context: BackendContext | None = None):
        self.evidence_spans = int(options.get("evidence_spans", 2))

    def generate(self, request: GenerationRequest) -> Generation:
        used = request.evidence[: self.evidence_spans]
        text = " ".join(f"{' '.join(e.text.split())} [{e.n}]" for e in used)
        messages = request.prompt.render(request.question, [e.text for e in used]) if request.prompt else request.messages
        return Generation(
            text=text,
            citations=[e.n for e in used],
            tokens_in=count_message_tokens(messages),
            tokens_out=count_tokens(text),
        )


register_backend("extractive", ExtractiveBackend)
