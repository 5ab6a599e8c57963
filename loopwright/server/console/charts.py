"""Inline SVG line charts for the console: no script and no plotting library, so a page renders as served.

Geometry only: the series' points scaled into a fixed box, and release markers as vertical lines at their
times. The templates draw them (and escape every label).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

WIDTH, HEIGHT, PAD = 640, 160, 28
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline>
    last: float | None


@dataclass(frozen=True)
class Chart:
    title: str
    top: float
    lines: list[Line]
    markers: list[dict[str, Any]] = field(default_factory=list)  # {"x", "label", "receipt"}
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def chart(title: str, buckets: list[dict[str, Any]], series: dict[str, Any], markers: list[dict[str, Any]]) -> Chart | None:
    """`series` name -> a function of one bucket (None where it has no value), drawn over the buckets' times."""
    if not buckets:
        return None
    times = [_epoch(b["start"]) for b in buckets]
    marked = [_epoch(m["ts"]) for m in markers]
    start = min([times[0], *marked])  # the axis spans the calls and the window's release steps, so every step shows
    end = max([times[-1], *marked, start + 1.0])
    values = {name: [get(b) for b in buckets] for name, get in series.items()}
    top = max([v for vs in values.values() for v in vs if v is not None] or [1.0]) or 1.0
    x = lambda t: PAD + (WIDTH - 2 * PAD) * (t - start) / (end - start)  # noqa: E731 - the chart's one scale
    y = lambda v: HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top  # noqa: E731
    lines = [
        Line(name, COLOURS[i % len(COLOURS)],
             " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, vs, strict=True) if v is not None),
             next((v for v in reversed(vs) if v is not None), None))
        for i, (name, vs) in enumerate(values.items())
    ]
    marks = [{"x": round(x(t), 1), "label": m["label"], "receipt": m["receipt"]} for t, m in zip(marked, markers, strict=True)]
    return Chart(title, top, lines, marks)


def overview_charts(data: dict[str, Any]) -> list[Chart]:
    """The Overview's three charts from `observe.timeline.overview`: latency percentiles, the rates, inference cost
    per accepted outcome; none without calls."""
    buckets, marks = data["timeline"], data["markers"]
    rates = {"availability": "availability", "defect": "defect_rate", "escalation": "escalation_rate",
             "decline": "decline_rate", "cache hit": "cache_hit_rate"}
    made = [
        chart("Latency (ms)", buckets, {p: (lambda b, p=p: b["latency_ms"][p]) for p in ("p50", "p95", "p99")}, marks),
        chart("Rates", buckets, {name: (lambda b, k=key: b.get(k)) for name, key in rates.items()}, marks),
        chart("Inference cost per accepted outcome", buckets, {"cost/accepted": lambda b: b.get("cost_per_accepted")}, marks),
    ]
    return [c for c in made if c is not None]
