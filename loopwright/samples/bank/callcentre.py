"""The call centre's side of the case study's Week 3: customers ask about chargeback grace (and disputes),
triage sends some grace questions to `dispute_initiation`, and agents label what they handle.

`adapter_traffic` turns the sample's 600 held-back adapter examples (300 chargeback_grace, 300
dispute_initiation, in English, Spanish and Vietnamese) into requests from retail customers.
`agent_labels` is what the agents record on the served traces: every misclassified trace gets the
right intent (a correction), and the correctly triaged ones get the intent confirmed (in Week 3 the
call centre works through every grace and dispute conversation: `confirm_share` 1.0), each by a
named agent, so curation has ~500 consented labels beside the replay set. Whether a customer consented to learning is theirs to
say, once: a fixed share of customers, chosen by a hash of the seed and the customer id, did not, so
their traces' labels are stored but never curated. Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from typing import Any

from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.questions import RETAIL

AGENTS = ("agt_ana.ruiz", "agt_binh.tran", "agt_carmen.diaz", "agt_dev.patel", "agt_eli.moss")
CONSENT_SHARE = 0.85
CONFIRM_SHARE = 1.0


def adapter_traffic(seed: int) -> list[dict[str, Any]]:
    """The 600 adapter examples as requests (ids g000001...), shuffled and spread over the customer book."""
    rng = random.Random(f"adapter-traffic-{seed}")
    examples = [json.loads(line) for line in (DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines() if line]
    customers = [json.loads(line)["id"] for line in (DATA_DIR / "customers.jsonl").read_text("utf-8").splitlines() if line]
    rng.shuffle(examples)
    return [
        {"id": f"g{i:06d}", "kind": "faq", "text": e["text"], "intent": e["intent"], "language": e["language"],
         "tenant": RETAIL, "customer_id": rng.choice(customers)}
        for i, e in enumerate(examples, 1)
    ]


def consents(customer_id: str, seed: int, share: float = CONSENT_SHARE) -> bool:
    """Whether a customer agreed to their conversations being learned from: fixed per customer and seed."""
    digest = hashlib.sha256(f"consent:{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def agent_labels(
    served: Iterable[dict[str, Any]], seed: int, *, confirm_share: float = CONFIRM_SHARE, consent_share: float = CONSENT_SHARE
) -> Iterator[dict[str, Any]]:
    """Feedback the agents give on served traces.

    `served` holds, per trace, `trace_id`, the request's true `intent`, the `predicted` intent and
    the `customer_id`. Yields `{"trace_id", "correction", "agent", "consent", "kind"}` where kind is
    `correction` (predicted was wrong) or `confirmation`.
    """
    rng = random.Random(f"agent-labels-{seed}")
    for s in served:
        wrong = s["predicted"] != s["intent"]
        if not wrong and rng.random() >= confirm_share:
            continue
        yield {
            "trace_id": s["trace_id"],
            "correction": s["intent"],
            "agent": rng.choice(AGENTS),
            "consent": consents(s["customer_id"], seed, consent_share),
            "kind": "correction" if wrong else "confirmation",
        }
