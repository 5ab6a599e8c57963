"""The bank tools' argument extractors: card endings, transaction ids, dispute categories (en, es, vi)."""

from __future__ import annotations

import re
from typing import Any

from loopwright.tools.arguments import argument_extractor

# A card is named by its last four digits: four digits standing alone, not part of an amount or date.
_LAST4 = re.compile(r"(?<![\d$.,/-])(\d{4})(?!\d|[.,/-]\d)")
_CARD_ID = re.compile(r"\bcard_\d{1,6}\b")
_TXN = re.compile(r"\btxn_\d{1,8}\b")
_CATEGORIES = (
    ("duplicate", re.compile(r"twice|duplicate|double|dos veces|duplicad|hai lần|trùng", re.I)),
    ("not_received", re.compile(r"never (got|received)|not received|didn.t (get|receive)|no (me )?lleg|no recib|chưa nhận", re.I)),
    ("unrecognized", re.compile(r"don.t recogni[sz]e|unrecogni[sz]ed|not mine|no reconozco|không nhận ra", re.I)),
    ("wrong_amount", re.compile(r"wrong amount|overcharged|cobraron de más|sai số tiền", re.I)),
)
_URGENT = re.compile(r"lost|stolen|fraud|perd[ií]|robad|fraude|mất|trộm|lừa đảo", re.I)


def _card(text: str) -> dict[str, Any] | None:
    if m := _CARD_ID.search(text):
        return {"card_id": m.group(0)}
    if m := _LAST4.search(text):
        return {"last4": m.group(1)}
    return None


argument_extractor("freeze_card")(_card)
argument_extractor("unfreeze_card")(_card)


@argument_extractor("open_dispute")
def _dispute(text: str) -> dict[str, Any] | None:
    m = _TXN.search(text)
    if not m:
        return None
    category = next((name for name, pattern in _CATEGORIES if pattern.search(text)), "other")
    return {"transaction_id": m.group(0), "category": category, "reason": text[:500]}


@argument_extractor("escalate_to_human")
def _escalate(text: str) -> dict[str, Any]:
    return {"reason": text[:500], "priority": "urgent" if _URGENT.search(text) else "normal"}
