"""Held-out sets: items that measure a model and are never trained on.

A held-out set is a `dataset` artifact holding `heldout.jsonl` (a `_header` line saying how it was written,
then one item a line: id, language, text, intent, kind), registered with `purpose = "evaluation"` in its
provenance. `refuse_training_on` is called by every reader of training data (`data prepare`'s sources,
`triage fit`), so a held-out set cannot become training data by a recipe's `file = "heldout.jsonl"`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loopwright.errors import InvalidInput, NotFound
from loopwright.registry.artifacts import Artifact, read_file, resolve

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

HELDOUT_FILE = "heldout.jsonl"
PURPOSE = "evaluation"
KINDS_OF_ITEM = ("plain", "pii", "adversarial")


def refuse_training_on(artifact: Artifact) -> None:
    """Raise `InvalidInput` when `artifact` is a held-out set (by its provenance or its file)."""
    if artifact.provenance.get("purpose") == PURPOSE or HELDOUT_FILE in artifact.files:
        raise InvalidInput(f"{artifact.ref} is a held-out set: it measures models and is never trained on",
                           hint="train on another dataset; `loopwright eval` reads this one")


def read_heldout(ws: Workspace, ref: str) -> tuple[Artifact, list[dict[str, str]]]:
    """The held-out items of dataset `ref` (its `heldout.jsonl`, verified): id, language, text, intent, kind."""
    try:
        artifact = resolve(ws, ref, kind="dataset")
    except NotFound as exc:
        raise NotFound(exc.message, hint="the policy's [evaluation] heldout names it; `loopwright init --sample bank` "
                                         "registers dataset/heldout-intents") from None
    if HELDOUT_FILE not in artifact.files:
        raise InvalidInput(f"{artifact.ref} is not a held-out set: it has no {HELDOUT_FILE}")
    items, seen = [], set()
    for n, line in enumerate(read_file(ws, artifact, HELDOUT_FILE).decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{artifact.ref} {HELDOUT_FILE} line {n} is not JSON: {exc.msg}") from None
        if "_header" in row:
            continue
        if not all(isinstance(row.get(k), str) and row[k].strip() for k in ("id", "language", "text", "intent")) \
                or row.get("kind", "plain") not in KINDS_OF_ITEM or row["id"] in seen:
            raise InvalidInput(f"{artifact.ref} {HELDOUT_FILE} line {n}: needs a new id, language, text, intent, "
                               f"and a kind among {', '.join(KINDS_OF_ITEM)}")
        seen.add(row["id"])
        items.append({**row, "kind": row.get("kind", "plain")})
    if not items:
        raise InvalidInput(f"{artifact.ref} {HELDOUT_FILE} holds no items")
    return artifact, items
