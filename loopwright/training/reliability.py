"""The reliability diagram of an evaluation, as a small self-contained SVG (no plotting library, same bytes every time).

One bar per confidence bin: its height is the accuracy of the items in it, a
tick marks their mean confidence, and the diagonal is perfect calibration. Bars
under the diagonal are over-confident bins. The count of items is printed over
each bar, so a tall bar of two items reads as what it is.
"""

from __future__ import annotations

from html import escape
from typing import Any

_W, _H, _PAD = 360, 300, 40


def diagram(bins: list[dict[str, Any]], *, title: str) -> str:
    """SVG text for `bins` (as `scores.reliability` gives them)."""
    inner_w, inner_h = _W - 2 * _PAD, _H - 2 * _PAD
    x = lambda v: _PAD + v * inner_w  # noqa: E731
    y = lambda v: _H - _PAD - v * inner_h  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        'font-family="sans-serif" font-size="10">',
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="12">{escape(title)}</text>',
        f'<rect x="{_PAD}" y="{_PAD}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#999"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" stroke-dasharray="4 3"/>',
    ]
    for b in bins:
        if not b["n"]:
            continue
        left, width = x(b["lo"]) + 1, (b["hi"] - b["lo"]) * inner_w - 2
        top = y(b["accuracy"])
        colour = "#4a7ab5" if b["accuracy"] >= b["confidence"] else "#c8553d"  # blue: under-confident, red: over
        parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{y(0) - top:.1f}" fill="{colour}" opacity="0.8"/>')
        parts.append(f'<line x1="{left:.1f}" y1="{y(b["confidence"]):.1f}" x2="{left + width:.1f}" y2="{y(b["confidence"]):.1f}" stroke="#222"/>')
        parts.append(f'<text x="{left + width / 2:.1f}" y="{top - 3:.1f}" text-anchor="middle">{b["n"]}</text>')
    parts += [
        f'<text x="{_W / 2}" y="{_H - 10}" text-anchor="middle">confidence</text>',
        f'<text x="12" y="{_H / 2}" text-anchor="middle" transform="rotate(-90 12 {_H / 2})">accuracy</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
