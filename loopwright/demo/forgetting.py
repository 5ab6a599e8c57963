"""The report's self-learning table: the triage adapter's accuracy per intent and per language before and after,
each change with its paired 95% interval, on the held-out forgetting set (`learn adapter --forgetting`).

The issue's goal is that no other intent or language gets worse beyond noise; a reader needs the rows, not only the
worst one, and the interval says how much noise there is (with 120 texts an intent, one text is 0.83 points).
"""

from __future__ import annotations

from html import escape
from typing import Any

from loopwright.demo.formatting import percent


def _ci(ci: Any) -> str:
    return "—" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}]"


def forgetting_section(phases: list[dict[str, Any]]) -> str:
    """Rows per intent and language from the self_learning phase's card; empty when the run has none."""
    phase = next((p for p in phases if p.get("name") == "self_learning"), None)
    table = ((phase or {}).get("metrics") or {}).get("per_intent_and_language")
    if not isinstance(table, dict) or "before" not in table:
        return ""
    target = ((phase.get("metrics") or {}).get("target") or {}).get("intent")
    drops, cis = table.get("drop_points") or {}, table.get("drop_ci95") or {}
    rows = []
    for group, field in (("by_intent", "intent"), ("by_language", "language")):
        for key, before in table["before"][group].items():
            after = table["after"][group].get(key) or {}
            name = f"{field}:{key}"
            drop = drops.get(name)
            note = " (the intent fixed)" if key == target else ""
            rows.append(f"<tr><td>{escape(field)}</td><td>{escape(key + note)}</td><td class='num'>{before['n']}</td>"
                        f"<td>{percent(before['accuracy'])}</td><td>{percent(after.get('accuracy'))}</td>"
                        f"<td class='num'>{'—' if drop is None else f'{drop:+.1f}'}</td><td>{escape(_ci(cis.get(name)))}</td></tr>")
    others = table.get("other_intents") or {}
    if others.get("n"):
        rows.append(f"<tr><td>together</td><td>every other intent</td><td class='num'>{others['n']}</td><td></td><td></td>"
                    f"<td class='num'>{others['drop_points']:+.1f}</td><td>{escape(_ci(others.get('ci95')))}</td></tr>")
    head = ("<tr><th></th><th>segment</th><th class='num'>texts</th><th>accuracy before</th><th>after</th>"
            "<th class='num'>drop (points)</th><th>paired 95% interval</th></tr>")
    note = (f"The triage adapter measured on {table.get('rows', 'held-out text')}: each text triaged by the base and by the "
            "adapter, so every change is paired (Newcombe's interval); a drop is accuracy lost. The goal: no other intent "
            "or language more than 1 point worse.")
    return (f"<section><h2>Self-learning: accuracy per intent and language</h2><p class='muted'>{escape(note)}</p>"
            f"<table class='outcomes'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></section>")
