"""The data card: what each preparation step took in, let out and why, per language and class.

`card.json` is the record; `card.md` the same figures for a person. Both are
files of the dataset artifact, so a card can never describe other data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loopwright.training.data.sources import Row

PASSAGE = "(passage)"  # the class column of unlabelled rows


def breakdown(rows: list[Row]) -> dict[str, Any]:
    """Row counts per language, per class, and per language and class."""
    by_pair = Counter(f"{r.language}/{r.intent or PASSAGE}" for r in rows)
    return {
        "rows": len(rows),
        "by_language": dict(sorted(Counter(r.language for r in rows).items())),
        "by_class": dict(sorted(Counter(r.intent or PASSAGE for r in rows).items())),
        "by_language_class": dict(sorted(by_pair.items())),
    }


@dataclass
class Card:
    """Collects the steps of one preparation run."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, before: list[Row], after: list[Row], reasons: Counter | None = None, **extra: Any) -> None:
        """Record a step: rows in and out, removals per reason, and per language and class of what was removed."""
        kept = Counter(r.id for r in after)
        removed = []
        for r in before:
            if kept[r.id]:
                kept[r.id] -= 1
            else:
                removed.append(r)
        self.steps.append({
            "step": name,
            "in": len(before),
            "out": len(after),
            "reasons": dict(sorted((reasons or Counter()).items())),
            "removed_by_language": dict(sorted(Counter(r.language for r in removed).items())),
            "removed_by_class": dict(sorted(Counter(r.intent or PASSAGE for r in removed).items())),
            **extra,
        })

    def to_dict(self, *, name: str, description: str, inputs: list[Row], splits: dict[str, list[Row]],
                 manifest: list[dict[str, Any]], recipe_digest: str) -> dict[str, Any]:
        """The card.json document."""
        return {
            "dataset": name,
            "description": description,
            "recipe_digest": recipe_digest,
            "sources": manifest,
            "input": breakdown(inputs),
            "steps": self.steps,
            "splits": {split: breakdown(rows) for split, rows in splits.items()},
        }


def summary(reasons: dict[str, int]) -> str:
    """Reasons for people: `oversampled:STRATUM`, `masked_pii:LANG` and `pii_masked:ENTITY` counts folded into one
    figure each."""
    folded: Counter = Counter()
    for key, n in reasons.items():
        head, _, tail = key.partition(":")
        if tail and head in ("oversampled", "masked_pii"):
            folded["oversampled"] += n
        elif not tail:
            folded[key] += n
    return ", ".join(f"{k} {v}" for k, v in sorted(folded.items())) or "-"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(card: dict[str, Any]) -> str:
    """card.md: the sources, the steps and the splits as tables."""
    lines = [f"# Data card: dataset/{card['dataset']}", ""]
    if card["description"]:
        lines += [card["description"], ""]
    lines += ["## Sources", ""]
    lines += _table(
        ["source", "origin", "licence", "consent", "sensitivity", "rows", "kept"],
        [[s["name"], s["origin"], s["licence"], s["consent"], s["sensitivity"], s["rows"], s.get("kept", "")]
         for s in card["sources"]],
    )
    lines += ["", "## Steps", ""]
    lines += _table(
        ["step", "in", "out", "why"],
        [[s["step"], s["in"], s["out"], summary(s["reasons"])] for s in card["steps"]],
    )
    splits = card["splits"]
    languages = sorted({lang for b in splits.values() for lang in b["by_language"]})
    classes = sorted({c for b in splits.values() for c in b["by_class"]})
    lines += ["", "## Splits per language", ""]
    lines += _table(["split", "rows", *languages], [[s, b["rows"], *(b["by_language"].get(x, 0) for x in languages)]
                                                    for s, b in splits.items()])
    lines += ["", "## Splits per class", ""]
    lines += _table(["class", *splits], [[c, *(b["by_class"].get(c, 0) for b in splits.values())] for c in classes])
    return "\n".join(lines) + "\n"
