"""A tiny triage adapter for tests: 40 of the sample's call-centre examples plus one replay row per intent, one epoch.

Trained once per test session (the training cache is the session's `LOOPWRIGHT_CACHE_DIR`, and every
`triaged_bank` has the same base head), then each workspace registers the same files.
"""

from __future__ import annotations

import json

from loopwright.learning.adapters import AdapterJob, learn_triage_adapter, with_replay
from loopwright.samples.bank import DATA_DIR
from loopwright.samples.bank.review import scripted_review
from loopwright.training.triage_adapter import TriageAdapterConfig

TINY = TriageAdapterConfig(epochs=1)


def tiny_examples(n: int = 40) -> list[dict[str, str]]:
    lines = (DATA_DIR / "adapter_examples.jsonl").read_text("utf-8").splitlines()[:n]
    return [{**json.loads(line), "source": "test"} for line in lines]


def train_tiny_adapter(ws) -> AdapterJob:
    """The tiny adapter trained on `ws`'s live triage head and registered as adapter/triage."""
    dataset = with_replay(ws, tiny_examples(), name="tiny-grace", replay="dataset/intents", per_intent=1)
    scripted_review(ws, dataset)  # all 40 new examples: the policy's quota is at least 50 items
    return learn_triage_adapter(ws, dataset.ref, TINY, forgetting_per_intent=1)
