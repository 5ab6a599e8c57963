"""Reading a recipe's sources into rows, and the provenance and licence manifest that goes with them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.digests import sha256_hex
from loopwright.errors import InvalidInput, NotFound, UnknownRef
from loopwright.language import detect_language
from loopwright.registry.artifacts import read_file, resolve
from loopwright.training.heldout import refuse_training_on
from loopwright.training.recipes import SENSITIVITY_ORDER, DataRecipe, Source

if TYPE_CHECKING:
    from loopwright.workspace import Workspace

LANGUAGES = ("en", "es", "vi")


@dataclass(frozen=True)
class Row:
    """One example. `intent` is None for an unlabelled passage; `id` is `source:original-id`."""

    id: str
    text: str
    language: str
    intent: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The row as the prepared split files hold it."""
        return {"id": self.id, "text": self.text, "language": self.language, "intent": self.intent, "source": self.source}

    def with_text(self, text: str) -> Row:
        """The same row with its text replaced (PII masked)."""
        return replace(self, text=text)


@dataclass(frozen=True)
class SourceData:
    """A source's rows and what the manifest says of it."""

    source: Source
    origin: str
    digest: str
    rows: list[Row]

    def manifest(self) -> dict[str, Any]:
        """The source's manifest entry (kept rows are added by the caller)."""
        s = self.source
        return {
            "name": s.name,
            "origin": self.origin,
            "digest": self.digest,
            "licence": s.licence,
            "provenance": s.provenance,
            "consent": s.consent,
            "sensitivity": s.sensitivity,
            "rows": len(self.rows),
            "labelled": sum(r.intent is not None for r in self.rows),
        }


def _raw(ws: Workspace, source: Source, base: Path) -> tuple[str, str, bytes]:
    """(origin, digest, bytes) of a source, or a one-line error naming it."""
    if source.path is not None:
        path = Path(source.path)
        path = path if path.is_absolute() else base / path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"source {source.name!r}: no file {path}", hint="paths are read from the recipe's folder") from None
        except OSError as exc:
            raise InvalidInput(f"source {source.name!r}: cannot read {path}: {exc.strerror}") from None
        return str(source.path), sha256_hex(data), data
    try:
        artifact = resolve(ws, source.dataset or "", kind="dataset")
    except UnknownRef as exc:
        raise UnknownRef(f"source {source.name!r}: {exc.message}", hint=exc.hint) from None
    refuse_training_on(artifact)
    try:
        data = read_file(ws, artifact, source.file)
    except NotFound as exc:
        raise NotFound(f"source {source.name!r}: {exc.message}", hint=exc.hint) from None
    return f"{artifact.ref}:{source.file}", artifact.digest, data


def _parse(source: Source, data: bytes) -> list[Row]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"source {source.name!r}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"source {source.name!r} line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{where} is not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise InvalidInput(f"{where} has no text", hint='each line: {"text": ..., "intent"?: ..., "language"?: ...}')
        intent = item.get("intent")
        if intent is not None and (not isinstance(intent, str) or not intent.strip()):
            raise InvalidInput(f"{where}: intent must be a non-empty string, got {intent!r}")
        language = item.get("language") or source.language or detect_language(item["text"], LANGUAGES)
        if language not in LANGUAGES:
            raise InvalidInput(f"{where}: unknown language {language!r}", hint=f"one of: {', '.join(LANGUAGES)}")
        original = str(item.get("id", number)).replace("#", "-")  # `#` marks oversampled copies
        rows.append(Row(f"{source.name}:{original}", item["text"], language, intent, source.name))
    if not rows:
        raise InvalidInput(f"source {source.name!r} has no rows")
    return rows


def read_sources(ws: Workspace, recipe: DataRecipe, base: Path) -> list[SourceData]:
    """Every source of `recipe`, in order; relative paths are read from `base` (the recipe's folder)."""
    out = []
    for source in recipe.sources:
        origin, digest, data = _raw(ws, source, base)
        out.append(SourceData(source, origin, digest, _parse(source, data)))
    return out


def dataset_provenance(sources: list[SourceData]) -> dict[str, Any]:
    """The dataset's provenance: every source's licence and consent, and the highest sensitivity among them."""
    return {
        "source": "loopwright data prepare from " + ", ".join(s.origin for s in sources),
        "licence": "; ".join(sorted({s.source.licence for s in sources})),
        "consent": "; ".join(sorted({s.source.consent for s in sources})),
        "sensitivity": max((s.source.sensitivity for s in sources), key=SENSITIVITY_ORDER.index),
        "creator": "loopwright.training.data",
    }
