"""Text folding shared by retrieval, triage, PII context words and the sample's simulated typing."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """`text` without diacritics, as typed on a keyboard without a Spanish or Vietnamese layout (`Số` -> `So`, `đ` -> `d`).

    NFKD also unfolds compatibility forms (`ﬁ` -> `fi`, full-width letters), so look-alikes compare equal.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
