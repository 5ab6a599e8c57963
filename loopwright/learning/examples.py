"""The files of a curated `dataset` artifact, and the checks every reader of one makes.

    examples.jsonl   triage: {"text", "intent", "language", "source"}
                     generator: {"prompt", "completion", "label"} (thumbs, for KTO)
    pairs.jsonl      generator only: {"prompt", "chosen", "rejected"} (for DPO), when a prompt has both
    card.json        the data card: counts in and out, drops by reason, the trace behind each new example
                     (a dataset registered by other means, `learning.adapters.with_replay`'s, may have none:
                     it is reviewed and trained on alike, and has no traces whose consent could lapse)

An example's id is a digest of its row, so a spot-check decision names exactly the row it judged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopwright.digests import digest_of
from loopwright.errors import InvalidInput
from loopwright.policy import pii
from loopwright.registry.artifacts import Artifact, read_file

if TYPE_CHECKING:
    from loopwright.policy.schema import PiiRules
    from loopwright.workspace import Workspace

EXAMPLES = "examples.jsonl"
PAIRS = "pairs.jsonl"
CARD = "card.json"
TEXT_FIELDS = ("text", "prompt", "completion", "chosen", "rejected")


def item_id(row: Mapping[str, Any]) -> str:
    """The example's id: the first 16 hex digits of the sha256 of its canonical JSON."""
    return digest_of(dict(row))[:16]


def jsonl(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as JSON lines, keys sorted, so equal rows give equal bytes (and equal artifact digests)."""
    return "".join(json.dumps(dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode("utf-8")


def is_training_dataset(artifact: Artifact) -> bool:
    """Whether a dataset artifact holds training examples (an examples file; curated ones have a data card too)."""
    return artifact.kind == "dataset" and EXAMPLES in artifact.files


def read_examples(ws: Workspace, artifact: Artifact) -> list[dict[str, Any]]:
    """The rows of a dataset's examples.jsonl, verified against its digest."""
    if not is_training_dataset(artifact):
        raise InvalidInput(f"{artifact.ref} holds no training examples (no {EXAMPLES})", hint="`loopwright learn curate` makes a dataset")
    return [json.loads(line) for line in read_file(ws, artifact, EXAMPLES).decode("utf-8").splitlines() if line]


def read_card(ws: Workspace, artifact: Artifact) -> dict[str, Any]:
    """The data card of a dataset ({} when it has none: it was not curated from traces)."""
    read_examples(ws, artifact)  # the same shape check, and the error that names it
    return json.loads(read_file(ws, artifact, CARD)) if CARD in artifact.files else {}


def holds_raw_pii(row: Mapping[str, Any], rules: PiiRules) -> bool:
    """Whether any text field of `row` holds personal data the PII rules detect (placeholders are not)."""
    return any(pii.scan(row[f], rules) for f in TEXT_FIELDS if isinstance(row.get(f), str))


def check_clean(ref: str, rows: Sequence[Mapping[str, Any]], rules: PiiRules) -> None:
    """Refuse an empty dataset, or one holding raw personal data, in one line naming it."""
    if not rows:
        raise InvalidInput(f"{ref} holds no examples")
    raw = sum(holds_raw_pii(r, rules) for r in rows)
    if raw:
        raise InvalidInput(f"{ref} holds raw personal data in {raw} example(s)", hint="curate again: `loopwright learn curate` drops them")
