"""Quarter 2's observation: Spanish and Vietnamese customers in their own words, labelled by the call centre.

Before the training phase asks the advisor, the bank serves a quarter's worth
of questions in the three languages through the gateway and the call centre
labels each one with its intent (a correction where triage was wrong, a
confirmation where it was right). English questions are the base utterances
the incumbent never trained on (their hash split is not `train`); Spanish and
Vietnamese ones come from the sample's second phrasebook (`data/multilingual`),
wording the incumbent has never seen. The advisor then reads those calls and
their labels: a language lagging across most intents is a training finding.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from loopwright.learning.feedback import Author, record_feedback
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.callcentre import AGENTS
from loopwright.samples.bank.questions import RETAIL
from loopwright.serving.pipeline import ChatRequest
from loopwright.serving.triage import clean_text
from loopwright.training.triage import TriageConfig, split_of

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext

LANGUAGES = ("en", "es", "vi")


def _jsonl(path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def language_traffic(seed: int, per_language: int) -> list[dict[str, Any]]:
    """`per_language` labelled questions in each language, none the incumbent trained on, shuffled, as retail customers."""
    rng = random.Random(f"language-traffic-{seed}")
    rule = TriageConfig(seed=0)
    pools = {"en": [u for u in _jsonl(DATA_DIR / "utterances.jsonl")
                    if u["language"] == "en" and split_of(clean_text(u["text"]), rule) != "train"]}
    for language in LANGUAGES[1:]:
        pools[language] = _jsonl(DATA_DIR / "multilingual" / f"utterances-{language}.jsonl")
    customers = [c["id"] for c in _jsonl(DATA_DIR / "customers.jsonl")]
    picked = [u for language in LANGUAGES for u in rng.sample(pools[language], min(per_language, len(pools[language])))]
    rng.shuffle(picked)
    return [{"id": f"q{i:06d}", "text": u["text"], "intent": u["intent"], "language": u["language"], "tenant": RETAIL,
             "customer_id": rng.choice(customers)} for i, u in enumerate(picked, 1)]


def observe_languages(ctx: DemoContext, phase: str, per_language: int) -> list[str]:
    """Serve `language_traffic` as its customers, record each agent's label, and say how triage did per language;
    returns the trace ids, the advisor's window."""
    requests = language_traffic(0, per_language)
    gateway, advance = ctx.gateway, ctx.progress(f"{phase}: the quarter's questions in en, es, vi", len(requests))
    rng, right, asked, served = random.Random("language-labels-0"), Counter(), Counter(), []
    for r in requests:
        principal = gateway.principal_for(r["tenant"], "customer", r["customer_id"], key_id="demo-quarter")
        completion = gateway.complete(ChatRequest(ctx.driver.model, [{"role": "user", "content": r["text"]}],
                                                  user=r["customer_id"]), principal)
        served.append((completion.trace_id, r))
        right[r["language"]] += completion.loopwright["intent"] == r["intent"]
        asked[r["language"]] += 1
        advance()
    gateway.writer.flush()
    for trace_id, r in served:  # every call labelled: a correction where triage erred, a confirmation where it did not
        record_feedback(ctx.ws, trace_id, author=Author("agent", rng.choice(AGENTS)), correction=r["intent"], consent=True)
    report = ", ".join(f"{lang.upper()} {right[lang] / asked[lang]:.0%}" for lang in LANGUAGES if asked[lang])
    ctx.say(f"{phase}: {len(requests)} questions served and labelled by the call centre; triaged right: {report}")
    ctx.event(phase, f"observed {len(requests)} labelled questions in en, es, vi (triaged right: {report})")
    return [trace_id for trace_id, _ in served]
