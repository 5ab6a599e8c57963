"""Corpus documents: a Markdown or text file whose YAML front matter says what it is.

```
---
id: flexpay-2-0
title: FlexPay 2.0
language: en
effective_date: 2025-02-01
retired_date:            # optional
certified: false
sensitivity: public      # public < internal < restricted
audience: [retail]
source: Product team
licence: internal
---
# FlexPay 2.0
...
```

Character offsets everywhere in the corpus index `ParsedDocument.text`: the
file decoded as UTF-8 (a leading byte-order mark dropped), front matter
included, so `text[start:end]` is the cited span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from loopwright.digests import sha256_hex
from loopwright.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
SUFFIXES = (".md", ".markdown", ".txt")
SENSITIVITY_LEVELS: dict[str, int] = {"public": 0, "internal": 1, "restricted": 2}
Sensitivity = Literal["public", "internal", "restricted"]

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
_FM_BOUNDARY = re.compile(r"^-{3,}[ \t]*\r?$", re.MULTILINE)


class Document(BaseModel):
    """A document's metadata, from its front matter (and, in a commit, any certify/retire decision)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable identifier: lowercase letters, digits, '.', '_', '-'. Citations name it.")
    title: str = Field(min_length=1, description="Human title; also leads every chunk's context for retrieval.")
    language: str = Field("en", min_length=2, max_length=16, description="BCP-47 language tag of the text.")
    effective_date: date = Field(description="The day the content takes effect; freshness is counted from it.")
    retired_date: date | None = Field(None, description="From this day on the document is stale and never answered from.")
    certified: bool = Field(False, description="Reviewed and approved; retrieval uses only certified documents unless the policy says otherwise.")
    sensitivity: Sensitivity = Field(description="public < internal < restricted; a caller sees up to its ceiling.")
    audience: tuple[str, ...] = Field(min_length=1, description="Scopes that may see it, e.g. [retail] or [staff].")
    source: str = Field(min_length=1, description="Who or what the content came from.")
    licence: str = Field(min_length=1, description="The licence the content is used under.")
    translation_of: str | None = Field(
        None, description="The id of the document this one translates: a caller asking in this one's language is "
        "answered from it, not from its other-language versions (`loopwright.corpus.index.CorpusIndex.in_language`)."
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lowercase letters, digits, '.', '_' or '-' (up to 120), starting with a letter or digit")
        return value

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def sensitivity_level(self) -> int:
        return SENSITIVITY_LEVELS[self.sensitivity]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (dates as ISO strings), stable for digests."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ParsedDocument:
    """A validated document: metadata, its full text, where the body starts, and its raw bytes."""

    meta: Document
    text: str
    body_start: int
    raw: bytes
    origin: str

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def digest(self) -> str:
        return sha256_hex(self.raw)


def _fail(origin: str, problem: str, hint: str | None = None) -> InvalidInput:
    return InvalidInput(f"{origin}: {problem}", hint=hint)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "front matter"
    if err["type"] == "missing":
        return f"front matter is missing required field {where!r}"
    if err["type"] == "extra_forbidden":
        return f"front matter has unknown field {where!r}"
    return f"front matter field {where!r}: {err['msg']}"


def parse_bytes(raw: bytes, origin: str) -> ParsedDocument:
    """Validate one document's bytes; `origin` (a path or name) heads every error message."""
    if len(raw) > MAX_BYTES:
        raise _fail(origin, f"is {len(raw) / 1e6:.1f} MB, over the {MAX_BYTES // (1024 * 1024)} MB limit for a document")
    if b"\x00" in raw[:8192]:
        raise _fail(origin, "is a binary file, not text", hint="add Markdown or plain-text documents")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(origin, f"is not UTF-8 text (invalid byte at offset {exc.start})", hint="re-save it as UTF-8") from None
    text = text.removeprefix("\ufeff")
    fences = list(_FM_BOUNDARY.finditer(text))
    if not text.startswith("---") or len(fences) < 2 or fences[0].start() != 0:
        raise _fail(origin, "has no front matter", hint="start the file with a '---' line, YAML metadata, and a closing '---' line")
    try:
        meta, _ = frontmatter.parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise _fail(origin, f"front matter is not valid YAML{where}: {problem}") from None
    if not isinstance(meta, dict) or not meta:
        raise _fail(origin, "front matter is empty or not a mapping")
    try:
        doc = Document.model_validate(meta)
    except ValidationError as exc:
        raise _fail(origin, _first_error(exc)) from None
    if doc.retired_date is not None and doc.retired_date <= doc.effective_date:
        raise _fail(origin, "front matter field 'retired_date' is not after 'effective_date'")
    body_start = fences[1].end()
    if not text[body_start:].strip():
        raise _fail(origin, "has no text after its front matter")
    return ParsedDocument(meta=doc, text=text, body_start=body_start, raw=raw, origin=origin)


def read_document(path: Path) -> ParsedDocument:
    """Read and validate one file, refusing an oversized one before reading it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(str(path), f"cannot be read ({exc.strerror})") from None
    if size > MAX_BYTES:
        raise _fail(str(path), f"is {size / 1e6:.1f} MB, over the {MAX_BYTES // (1024 * 1024)} MB limit for a document")
    return parse_bytes(path.read_bytes(), str(path))


def collect_paths(paths: list[Path]) -> list[Path]:
    """Files named, plus every document file below each named folder (hidden ones skipped), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            docs = [p for p in inside if p.suffix.lower() in SUFFIXES]
            if not docs:
                raise InvalidInput(f"{path}: no document files ({', '.join(SUFFIXES)}) in this folder")
            found.extend(docs)
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidInput(f"{path}: no such file or folder")
    return found


def read_documents(paths: list[Path]) -> list[ParsedDocument]:
    """Every document under `paths`, all validated before any is used; ids must be unique."""
    docs = [read_document(p) for p in collect_paths(paths)]
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.id in seen:
            raise InvalidInput(f"{doc.origin}: document id {doc.id!r} is also used by {seen[doc.id]}")
        seen[doc.id] = doc.origin
    return docs
