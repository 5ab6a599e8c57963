"""Text at the edge: every string field of every request body is `Text`, so what is stored can be stored.

JSON may carry a lone surrogate (`"\\ud800"` is valid JSON) that no UTF-8 database
column, log line or response can hold; it is refused here, as a 400 that names the
field, instead of failing later in the trace writer. NUL is refused too: PostgreSQL
text columns cannot hold it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


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
