"""The demo's report: `results.json` rendered as one self-contained `report.html`.

The page carries plotly.js inline, so it opens from disk with no network. It
holds the run summary, the results table (each figure with the trace and
receipt ids behind it, as `<details>` lists), one card per phase, the release
events, and plots over the demo's timeline: quality (FlexPay accuracy and
accepted rate), latency p50/p95, cost per accepted answer, and the canary
traffic split with the release events marked.

Every string taken from the results is escaped, the plot labels too: plotly.js
reads its text as a small subset of HTML.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from loopwright.demo.forgetting import forgetting_section
from loopwright.demo.formatting import finite, format_value
from loopwright.demo.outcomes import outcome_section

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["format_value", "render_report", "write_report"]

log = logging.getLogger(__name__)

# Windows aim for this many requests each (with fewer, a p95 is noise), and there are at most MAX_WINDOWS.
REQUESTS_PER_WINDOW = 20
MAX_WINDOWS = 60
COLOURS = {"flexpay": "#1f6feb", "accepted": "#2da44e", "p50": "#8250df", "p95": "#cf222e",
           "cost": "#bf8700", "stable": "#8c959f", "canary": "#fb8500", "event": "#57606a"}
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def write_report(results: dict[str, Any], path: Path) -> Path:
    """Write `results` (the demo's `results.json`) as a self-contained HTML page at `path`; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(results), encoding="utf-8")
    log.info("report written to %s", path)
    return path


def render_report(results: dict[str, Any]) -> str:
    """The report page as one HTML string; the same results give the same page."""
    phases = [p for p in results.get("phases") or [] if isinstance(p, dict)]
    titles = {str(p.get("name")): str(p.get("title") or p.get("name") or "") for p in phases}
    events = sorted((e for e in results.get("events") or [] if finite(e.get("t")) is not None), key=lambda e: finite(e["t"]))
    title = "loopwright demo report"
    body = "\n".join([
        f"<header><h1>{_esc(title)}</h1>{_summary(results)}</header>",
        "<section><h2>Results</h2>"
        "<p class='muted'>Every figure opens onto the traces and receipts it was computed from: look one up with "
        "<code>loopwright trace show ID</code> or <code>loopwright audit show ID</code> in the workspace.</p>"
        f"{_table(results.get('table') or [], titles)}</section>",
        f"<section><h2>Timeline</h2>{_plots(results.get('timeline') or [], phases, events)}</section>",
        outcome_section(phases),
        forgetting_section(phases),
        f"<section><h2>Phases</h2>{''.join(_phase_card(p) for p in phases) or _muted('No phases recorded.')}</section>",
        f"<section><h2>Release events</h2>{_events_table(events, titles)}</section>",
    ])
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_esc(title)}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main></body></html>\n")


# ---- numbers ---------------------------------------------------------------------------------------------------


def _guess_unit(key: str, value: Any) -> str:
    """A phase metric's unit from its name (`flexpay_accuracy`, `cache_hit_rate`, `latency_p95_ms`), for display only."""
    num = finite(value)
    if num is not None and 0 <= num <= 1 and key.endswith(("accuracy", "_rate", "_share")):
        return "%"
    return next((unit for suffix, unit in (("_ms", "ms"), ("_s", "s")) if key.endswith(suffix)), "")


def _duration(seconds: Any) -> str:
    s = finite(seconds)
    if s is None:
        return "—"
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {s % 60:.0f} s"


def _stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Quality, latency, cost and traffic split over some timeline rows (a window or a phase)."""
    n = len(rows)
    judged = [r for r in rows if r.get("flexpay") and r.get("correct") is not None]
    accepted = sum(bool(r.get("accepted")) for r in rows)
    latency = [v for v in (finite(r.get("latency_ms")) for r in rows) if v is not None]
    cost = sum(finite(r.get("cost")) or 0.0 for r in rows)
    canary = sum(r.get("channel") == "canary" for r in rows)
    return {
        "t": float(np.mean([r["t"] for r in rows])),
        "n": n,
        "flexpay_n": len(judged),
        "flexpay_accuracy": sum(bool(r["correct"]) for r in judged) / len(judged) if judged else None,
        "accepted_rate": accepted / n,
        "p50": float(np.percentile(latency, 50)) if latency else None,
        "p95": float(np.percentile(latency, 95)) if latency else None,
        "cost_per_accepted": cost / accepted if accepted else None,
        "canary_share": canary / n,
    }


def _windows(timeline: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Equal-width time windows, split at phase boundaries, each with its `_stats`, in time order."""
    rows = sorted((r for r in timeline if finite(r.get("t")) is not None), key=lambda r: r["t"])
    if not rows:
        return []
    t0, t1 = rows[0]["t"], rows[-1]["t"]
    count = max(1, min(MAX_WINDOWS, len(rows) // REQUESTS_PER_WINDOW))
    width = (t1 - t0) / count or 1.0
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((min(int((r["t"] - t0) / width), count - 1), str(r.get("phase") or "")), []).append(r)
    return [{"phase": phase, **_stats(g)} for (_, phase), g in groups.items()]


def _phase_spans(timeline: Sequence[dict[str, Any]], phases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each phase's time span (from the phase record, else from its requests) and its `_stats`."""
    by_phase: dict[str, list[dict[str, Any]]] = {}
    for r in timeline:
        if finite(r.get("t")) is not None:
            by_phase.setdefault(str(r.get("phase") or ""), []).append(r)
    spans = []
    for p in phases:
        name = str(p.get("name") or "")
        rows = by_phase.get(name, [])
        start, end = finite(p.get("start_t")), finite(p.get("end_t"))
        start = start if start is not None else min((r["t"] for r in rows), default=None)
        end = end if end is not None else max((r["t"] for r in rows), default=None)
        if start is None or end is None:
            continue
        spans.append({"name": name, "title": str(p.get("title") or name), "start": start, "end": end,
                      **(_stats(rows) if rows else {})})
    return spans


# ---- plots -----------------------------------------------------------------------------------------------------


def _plots(timeline: Sequence[dict[str, Any]], phases: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> str:
    timeline = [r for r in timeline if isinstance(r, dict)]
    windows = _windows(timeline)
    if not windows:
        return _muted("No requests on the timeline.")
    spans = _phase_spans(timeline, phases)
    figures = [_quality(windows, spans), _latency(windows), _cost(windows, spans), _traffic(windows, events)]
    ends = [r["t"] for r in timeline if finite(r.get("t")) is not None] + [s["end"] for s in spans]
    x_range = [min(0.0, *ends), max(ends) * 1.02 or 1.0]  # one range for every plot, so they line up down the page
    for fig in figures:
        _decorate(fig, spans, events)
        fig.update_xaxes(range=x_range)
    import plotly.io as pio

    parts = [pio.to_html(fig, include_plotlyjs=i == 0, full_html=False, div_id=f"plot-{i}", config=PLOT_CONFIG)
             for i, fig in enumerate(figures)]
    note = (f"<p class='muted'>{len(timeline):,} requests in {len(windows)} windows; lines are per window, "
            "dashed segments are whole-phase figures. Hover for counts.</p>")
    return note + "".join(f"<div class='plot'>{p}</div>" for p in parts)


def _figure(title: str, y_title: str) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        title={"text": _esc(title), "x": 0.01, "font": {"size": 16}}, template="plotly_white", height=330,
        margin={"l": 70, "r": 20, "t": 70, "b": 45}, hovermode="x unified",
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        xaxis={"title": {"text": "seconds since the demo started"}, "rangemode": "tozero"},
        yaxis={"title": {"text": _esc(y_title)}},
    )
    return fig


def _line(fig: go.Figure, windows: Sequence[dict[str, Any]], key: str, name: str, colour: str, hover: str,
          customdata: Sequence[Any] | None = None) -> None:
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=[w["t"] for w in windows], y=[w[key] for w in windows], name=_esc(name),
                             mode="lines+markers", line={"color": colour, "width": 2}, marker={"size": 5},
                             customdata=customdata, hovertemplate=hover, connectgaps=False))


def _phase_line(fig: go.Figure, spans: Sequence[dict[str, Any]], key: str, name: str, colour: str, fmt: str) -> None:
    """Whole-phase figures as dashed horizontal segments across each phase's span."""
    import plotly.graph_objects as go

    x: list[float | None] = []
    y: list[float | None] = []
    for s in spans:
        if s.get(key) is not None:
            x += [s["start"], s["end"], None]
            y += [s[key], s[key], None]
    if x:
        fig.add_trace(go.Scatter(x=x, y=y, name=_esc(name), mode="lines", opacity=0.7,
                                 line={"color": colour, "width": 3, "dash": "dash"},
                                 hovertemplate=f"%{{y:{fmt}}}<extra>{_esc(name)}</extra>"))


def _quality(windows: Sequence[dict[str, Any]], spans: Sequence[dict[str, Any]]) -> go.Figure:
    fig = _figure("Quality: FlexPay accuracy and accepted rate", "share")
    _line(fig, windows, "flexpay_accuracy", "FlexPay accuracy", COLOURS["flexpay"],
          "%{y:.0%} of %{customdata} FlexPay questions<extra>FlexPay accuracy</extra>", [w["flexpay_n"] for w in windows])
    _line(fig, windows, "accepted_rate", "accepted rate", COLOURS["accepted"],
          "%{y:.0%} of %{customdata} requests<extra>accepted rate</extra>", [w["n"] for w in windows])
    _phase_line(fig, spans, "flexpay_accuracy", "FlexPay accuracy, phase", COLOURS["flexpay"], ".1%")
    _phase_line(fig, spans, "accepted_rate", "accepted rate, phase", COLOURS["accepted"], ".1%")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.12])
    return fig


def _latency(windows: Sequence[dict[str, Any]]) -> go.Figure:
    fig = _figure("Latency per window", "milliseconds")
    _line(fig, windows, "p50", "p50", COLOURS["p50"], "%{y:,.1f} ms<extra>p50</extra>")
    _line(fig, windows, "p95", "p95", COLOURS["p95"], "%{y:,.1f} ms<extra>p95</extra>")
    fig.update_yaxes(rangemode="tozero")
    return fig


def _cost(windows: Sequence[dict[str, Any]], spans: Sequence[dict[str, Any]]) -> go.Figure:
    fig = _figure("Cost per accepted answer", "dollars")
    _line(fig, windows, "cost_per_accepted", "per window", COLOURS["cost"], "$%{y:.5f}<extra>per window</extra>")
    _phase_line(fig, spans, "cost_per_accepted", "per phase", COLOURS["cost"], "$.5f")
    fig.update_yaxes(rangemode="tozero", tickprefix="$")
    return fig


def _traffic(windows: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> go.Figure:
    import plotly.graph_objects as go

    fig = _figure("Traffic split: share of requests on each channel", "share of requests")
    x = [w["t"] for w in windows]
    for name, shares in (("stable", [1 - w["canary_share"] for w in windows]), ("canary", [w["canary_share"] for w in windows])):
        fig.add_trace(go.Scatter(x=x, y=shares, name=name, stackgroup="split", mode="lines",
                                 line={"color": COLOURS[name], "width": 1}, hovertemplate=f"%{{y:.0%}}<extra>{name}</extra>"))
    if events:
        # Numbered markers over the plot; the full label and receipt are in the hover and in the events table.
        fig.add_trace(go.Scatter(
            x=[finite(e["t"]) for e in events], y=[1.04] * len(events), name="release event", mode="markers+text",
            text=[str(i) for i in range(1, len(events) + 1)], textposition="top center",
            marker={"symbol": "triangle-down", "size": 10, "color": COLOURS["event"]},
            customdata=[[_esc(e.get("label") or ""), _esc(e.get("receipt_id") or "")] for e in events],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra>event %{text}</extra>"))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.15])
    return fig


def _decorate(fig: go.Figure, spans: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> None:
    """Phases as alternating shaded bands with their titles, and release events as dotted lines."""
    for i, s in enumerate(spans):
        fig.add_vrect(x0=s["start"], x1=s["end"], fillcolor="#eef1f5" if i % 2 == 0 else "#f8f9fb", opacity=1,
                      layer="below", line_width=0, annotation_text=_esc(s["title"]), annotation_position="top left",
                      annotation_font={"size": 10, "color": "#57606a"})
    for e in events:
        fig.add_vline(x=finite(e["t"]), line={"color": COLOURS["event"], "width": 1, "dash": "dot"}, opacity=0.6)


# ---- tables and cards ------------------------------------------------------------------------------------------


def _summary(results: dict[str, Any]) -> str:
    table = [r for r in results.get("table") or [] if isinstance(r, dict)]
    judged = [r for r in table if r.get("met") is not None]
    met = sum(r.get("met") is True for r in judged)
    items = [
        ("seed", results.get("seed", "—")),
        ("mode", "quick" if results.get("quick") else "full"),
        ("duration", _duration(results.get("duration_s"))),
        ("started", results.get("started_at") or "—"),
        ("finished", results.get("finished_at") or "—"),
        ("requests", f"{len(results.get('timeline') or []):,}"),
        ("targets met", f"{met} of {len(judged)}" if judged else "—"),
        ("workspace", results.get("workspace") or "—"),
    ]
    cls = " class='bad'" if judged and met < len(judged) else ""
    return "<dl class='summary'>" + "".join(
        f"<div><dt>{_esc(k)}</dt><dd{cls if k == 'targets met' else ''}>{_esc(v)}</dd></div>" for k, v in items) + "</dl>"


def _table(rows: Sequence[dict[str, Any]], titles: dict[str, str]) -> str:
    rows = [r for r in rows if isinstance(r, dict)]
    if not rows:
        return _muted("No figures recorded.")
    marks = {True: ("met", "✓"), False: ("missed", "✗"), None: ("na", "–")}
    body = []
    for r in rows:
        met = r.get("met") if isinstance(r.get("met"), bool) else None
        cls, mark = marks[met]
        phase = str(r.get("phase") or "")
        body.append(
            f"<tr class='{cls}'><td>{_esc(titles.get(phase, phase))}</td><td>{_esc(r.get('metric') or '')}</td>"
            f"<td class='num'>{_esc(format_value(r.get('value'), str(r.get('unit') or '')))}</td>"
            f"<td>{_esc(r.get('target') or '')}</td><td class='mark' title='{cls}'>{mark}</td>"
            f"<td>{_evidence(r)}</td></tr>")
    return ("<table class='results'><thead><tr><th>phase</th><th>metric</th><th class='num'>value</th><th>target</th>"
            "<th>met</th><th>evidence</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _evidence(item: dict[str, Any]) -> str:
    """The trace and receipt ids behind a figure, each as a collapsed list."""
    parts = []
    for key, noun in (("trace_ids", "trace"), ("receipt_ids", "receipt")):
        ids = [str(i) for i in item.get(key) or []]
        if ids:
            lis = "".join(f"<li><code>{_esc(i)}</code></li>" for i in ids)
            parts.append(f"<details class='{noun}s'><summary>{len(ids):,} {noun}{'' if len(ids) == 1 else 's'}</summary>"
                         f"<ul class='ids'>{lis}</ul></details>")
    return "".join(parts) or "<span class='muted'>none</span>"


def _phase_card(phase: dict[str, Any]) -> str:
    name = str(phase.get("name") or "")
    start, end = finite(phase.get("start_t")), finite(phase.get("end_t"))
    span = f"t = {start:.1f}–{end:.1f} s" if start is not None and end is not None else ""
    metrics = phase.get("metrics") if isinstance(phase.get("metrics"), dict) else {}
    dl = "".join(f"<div><dt>{_esc(k)}</dt><dd>{_esc(format_value(v, _guess_unit(str(k), v)))}</dd></div>"
                 for k, v in metrics.items())
    return (f"<article class='phase' id='phase-{_esc(name)}'><h3>{_esc(phase.get('title') or name)}"
            f" <span class='muted'>{_esc(span)}</span></h3>"
            f"<p>{_esc(phase.get('summary') or '')}</p>" + _advice(phase.get("advice"))
            + (f"<dl class='metrics'>{dl}</dl>" if dl else "") + _evidence(phase) + "</article>")


def _advice(advice: Any) -> str:
    """What the lever advisor recommended before the phase, and whether the phase followed it."""
    if not isinstance(advice, dict):
        return ""
    findings = advice.get("findings") or []
    top = findings[0] if findings and isinstance(findings[0], dict) else None
    said = (f"recommended <b>{_esc(top.get('lever'))}</b> ({_esc(top.get('stage'))}): {_esc(top.get('title'))}. "
            f"Evidence: {_esc(', '.join(f'{k}={v}' for k, v in (top.get('evidence') or {}).items()))}. "
            f"Command: <code>{_esc(top.get('command'))}</code>") if top else "found nothing to fix"
    levers = " or ".join(str(x) for x in advice.get("phase_levers") or [])
    rank = advice.get("phase_lever_rank")
    verdict = ("The phase follows it." if advice.get("followed")
               else f"<span class='bad'>The phase pulls {_esc(levers)} instead, against the advice"
                    + (f" (the advisor's finding {_esc(rank)})" if rank else " (which the advisor did not find)") + ".</span>")
    window = f"{_esc(advice.get('first') or '')} to {_esc(advice.get('last') or '')}" if advice.get("first") else ""
    return (f"<p class='advice'>Advisor, over {_esc(advice.get('calls'))} calls {window}: {said} {verdict}"
            f" Receipt <code>{_esc(advice.get('receipt_id') or '—')}</code>.</p>")


def _events_table(events: Sequence[dict[str, Any]], titles: dict[str, str]) -> str:
    if not events:
        return _muted("No release events.")
    rows = "".join(
        f"<tr><td class='num'>{i}</td><td class='num'>{finite(e['t']):.1f} s</td>"
        f"<td>{_esc(titles.get(str(e.get('phase') or ''), e.get('phase') or ''))}</td><td>{_esc(e.get('label') or '')}</td>"
        f"<td><code>{_esc(e.get('receipt_id') or '—')}</code></td></tr>"
        for i, e in enumerate(events, 1))
    return ("<table class='events'><thead><tr><th class='num'>#</th><th class='num'>t</th><th>phase</th><th>event</th>"
            f"<th>receipt</th></tr></thead><tbody>{rows}</tbody></table>")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _muted(text: str) -> str:
    return f"<p class='muted'>{_esc(text)}</p>"


CSS = """
body{margin:0;background:#f6f8fa;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 64px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:0 0 12px}h2{font-size:20px;margin:36px 0 10px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.muted{color:#656d76;font-size:13px;font-weight:normal}
dl.summary{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px 20px;margin:0}
dl.summary div{min-width:0}dt{color:#656d76;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}dd.bad{color:#cf222e}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid #d8dee4}
th{background:#f6f8fa;font-weight:600}tbody tr:nth-child(even){background:#fbfcfd}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mark{font-weight:700;text-align:center}tr.met td.mark{color:#1a7f37}tr.missed td.mark{color:#cf222e}
tr.na td.mark{color:#8c959f}tr.missed td.num{color:#cf222e}
details summary{cursor:pointer;color:#0969da;font-size:13px;white-space:nowrap}
ul.ids{list-style:none;margin:4px 0 6px;padding:6px;display:flex;flex-wrap:wrap;gap:2px 10px;
 max-height:12em;max-width:560px;overflow:auto;background:#f6f8fa;border-radius:4px}
.plot{margin:8px 0 4px;border:1px solid #d8dee4;border-radius:6px;padding:4px}
article.phase{border:1px solid #d8dee4;border-radius:6px;padding:12px 16px;margin:0 0 12px}
article.phase p{margin:0 0 8px}
p.advice{background:#f6f8fa;border-left:3px solid #0969da;padding:4px 8px}.bad{color:#cf222e}
dl.metrics{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0 0 8px}dl.metrics dd{font-weight:600}
"""
