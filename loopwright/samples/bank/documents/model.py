"""One policy or FAQ document and its Markdown rendering with YAML front matter."""

import json
import re
from dataclasses import dataclass
from datetime import date

LICENCE = "Larkspur internal, all rights reserved"
# Characters that would change a plain YAML scalar's meaning; such values get quoted.
_YAML_SPECIAL = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|: | #|\s$")


@dataclass(frozen=True)
class Doc:
    """A document of the sample corpus; `id` is also the file stem."""

    id: str
    title: str
    body: str
    effective_date: date
    source: str
    language: str = "en"
    retired_date: date | None = None
    certified: bool = True
    sensitivity: str = "public"
    audience: tuple[str, ...] = ("retail",)
    licence: str = LICENCE
    translation_of: str | None = None  # the English page this one translates

    def __post_init__(self) -> None:
        if self.language not in ("en", "es", "vi"):
            raise ValueError(f"{self.id}: language {self.language!r} is not en, es or vi")
        if self.sensitivity not in ("public", "internal", "restricted"):
            raise ValueError(f"{self.id}: unknown sensitivity {self.sensitivity!r}")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.id):
            raise ValueError(f"{self.id}: id must be a lower-case slug")


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if _YAML_SPECIAL.search(text) else text


def render(doc: Doc) -> str:
    """The file text: front matter, an H1 title, then the body, ending in one newline."""
    fields = [
        ("id", doc.id),
        ("title", doc.title),
        ("language", doc.language),
        ("effective_date", doc.effective_date),
        ("retired_date", doc.retired_date),
        ("certified", doc.certified),
        ("sensitivity", doc.sensitivity),
        ("audience", "[" + ", ".join(doc.audience) + "]"),
        ("source", doc.source),
        ("licence", doc.licence),
    ]
    if doc.translation_of:
        fields.append(("translation_of", doc.translation_of))
    lines = ["---"]
    for key, value in fields:
        lines.append(f"{key}: {value if key == 'audience' else _scalar(value)}")
    lines += ["---", f"# {doc.title}", "", doc.body.strip(), ""]
    return "\n".join(lines)
