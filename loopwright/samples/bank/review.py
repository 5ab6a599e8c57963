"""The sample's scripted reviewer: spot checks against the simulator's answer key, recorded as scripted.

A person reviews at `loopwright learn review`; the demo and `init --sample bank` have no person, so
this reviewer takes the sample the policy asks for (`learning.review.review_sample`) and judges
each item by the intent the sample's own data gives its text: approve when the label agrees,
relabel when the key names another intent, reject a text the key does not know. Its decisions go
through `record_decisions` with `scripted=True` and its own name, so the receipt says no person
looked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING

from loopwright.learning.review import Decision, ReviewStatus, record_decisions, review_sample, review_status
from loopwright.samples.bank import DATA_DIR
from loopwright.serving.triage import clean_text

if TYPE_CHECKING:
    from loopwright.registry.artifacts import Artifact
    from loopwright.workspace import Workspace

REVIEWER = "larkspur-qa-script"


@lru_cache(maxsize=1)
def answer_key() -> dict[str, str]:
    """Normalised text -> intent, from the sample's labelled utterances and its 600 call-centre examples."""
    key: dict[str, str] = {}
    for name in ("utterances.jsonl", "adapter_examples.jsonl"):
        for line in (DATA_DIR / name).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                key[clean_text(row["text"])] = row["intent"]
    return key


def judge(row: dict) -> Decision:
    """The scripted verdict on one sampled triage item."""
    truth = answer_key().get(clean_text(row["text"]))
    if truth is None:
        return Decision(row["item"], "reject")
    return Decision(row["item"], "approve") if truth == row["intent"] else Decision(row["item"], "relabel", truth)


def scripted_review(ws: Workspace, dataset: str | Artifact) -> ReviewStatus:
    """Review `dataset`'s pending spot-check sample by the answer key; a no-op once the quota is met."""
    sample = review_sample(ws, dataset)
    if not sample:
        return review_status(ws, dataset)
    return record_decisions(ws, dataset, [judge(row) for row in sample], reviewer=REVIEWER, scripted=True)
