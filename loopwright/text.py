"""Text folding shared by retrieval, triage, PII context words and the sample's simulated typing, and `Text`:
the storable string every request body's and library record's string field is.

JSON may carry a lone surrogate (`"\\ud800"` is valid JSON) that no UTF-8 database
column, log line or response can hold; `Text` refuses it, as a 400 that names the
field at the edge, instead of failing later in the trace writer. NUL is refused too:
PostgreSQL text columns cannot hold it.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def strip_accents(text: str) -> str:
    """`text` without diacritics, as typed on a keyboard without a Spanish or Vietnamese layout (`Số` -> `So`, `đ` -> `d`).

    NFKD also unfolds compatibility forms (`ﬁ` -> `fi`, full-width letters), so look-alikes compare equal.
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _storable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "invalid_unicode", "text is not valid Unicode (a lone surrogate at character {position})", {"position": exc.start}
        ) from None
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "text contains a NUL character")
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""A string that is valid Unicode without NUL characters."""
