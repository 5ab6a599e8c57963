"""Map a key path in a TOML file (as pydantic reports it) to the line that holds it.

`tomllib` keeps no positions, so validation errors would otherwise say only
*what* is wrong. This is a line scanner for the subset policy files use:
tables, arrays of tables, dotted and quoted keys, inline tables, multi-line
arrays and strings. It never decides validity; when in doubt it answers the
nearest enclosing key's line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"' + "|" + r"'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = re.compile(rf"\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*")
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*=(.*)$")
_INLINE_KEY = re.compile(rf"({_KEY})\s*=")

Path = tuple[str, ...]


def _split(dotted: str) -> Path:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def _strip_strings(value: str) -> str:
    return re.sub(_QUOTED, '""', value)


def key_lines(text: str) -> dict[Path, tuple[int, int]]:
    """Every key path in `text` with the first and last line (1-based) of its value."""
    out: dict[Path, tuple[int, int]] = {}
    table: Path = ()
    array_counts: dict[Path, int] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        stripped = line.split("#", 1)[0] if '"' not in line and "'" not in line else line
        if not stripped.strip() or stripped.lstrip().startswith("#"):
            i += 1
            continue
        header = _HEADER.match(stripped)
        if header:
            path = _split(header.group(2))
            if header.group(1) == "[[":
                n = array_counts.get(path, 0)
                array_counts[path] = n + 1
                out.setdefault(path, (number, number))
                path = (*path, str(n))
            table = path
            out.setdefault(table, (number, number))
            i += 1
            continue
        assign = _ASSIGN.match(stripped)
        if not assign:
            i += 1
            continue
        path = (*table, *_split(assign.group(1)))
        value = assign.group(2)
        end = i
        if value.strip().startswith(('"""', "'''")):
            quote = value.strip()[:3]
            if value.count(quote) < 2:
                while end + 1 < len(lines) and quote not in lines[end + 1]:
                    end += 1
                end += 1
        else:
            depth = _depth(value)
            while depth > 0 and end + 1 < len(lines):
                end += 1
                depth += _depth(lines[end])
        out[path] = (number, min(end, len(lines) - 1) + 1)
        if "{" in value:  # keys of an inline table share its line
            for key in _INLINE_KEY.findall(_strip_strings(value)):
                out.setdefault((*path, *_split(key)), (number, number))
        i = end + 1
    return out


def _depth(fragment: str) -> int:
    clean = _strip_strings(fragment.split("#", 1)[0] if '"' not in fragment else fragment)
    return clean.count("[") + clean.count("{") - clean.count("]") - clean.count("}")


def locate(text: str, loc: Sequence[Any], value: Any = None) -> int | None:
    """The line of the deepest prefix of `loc` present in `text`; within a multi-line
    value, the line that shows `value` when it is a scalar."""
    index = key_lines(text)
    parts = [str(p) for p in loc if p != "[key]"]
    for attempt in (parts, [p for p in parts if not p.isdigit()]):
        for n in range(len(attempt), 0, -1):
            span = index.get(tuple(attempt[:n]))
            if span is None:
                continue
            start, end = span
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) and end > start:
                needle = f'"{value}"' if isinstance(value, str) else str(value)
                lines = text.splitlines()
                for number in range(start, end + 1):
                    if needle in lines[number - 1]:
                        return number
            return start
    return None
