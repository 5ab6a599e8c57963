"""Governance check: no raw personal data anywhere, tool actions with receipts, and a whole audit chain."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loopwright.corpus.commits import verify_indexes
from loopwright.serving.trace_store import load_traces
from loopwright.registry.audit import verify_artifacts, verify_blobs, verify_deployment
from loopwright.registry.receipts import list_receipts, verify_chain
from loopwright.serving.cache import MemoryCache, RedisCache

if TYPE_CHECKING:
    from loopwright.demo.phases import DemoContext


def _variants(value: str) -> set[str]:
    """A value as typed and with separators dropped (a card or phone number written either way)."""
    digits = re.sub(r"[\s().+-]", "", value)
    return {value, digits} if len(digits) >= 7 else {value}


def _database_text(ctx: DemoContext) -> str:
    """Every text value in every table of the workspace's database."""
    metadata = sa.MetaData()
    metadata.reflect(ctx.ws.engine)
    parts = []
    with ctx.ws.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(str(v) for v in row if isinstance(v, str))
    return "\n".join(parts)


def _cache_text(ctx: DemoContext) -> str:
    cache = ctx.gateway.cache
    if isinstance(cache, MemoryCache):
        return "\n".join(json.dumps(v, ensure_ascii=False) for v in list(cache._lru.values()))
    if isinstance(cache, RedisCache):
        return "\n".join((cache._redis.get(k) or b"").decode("utf-8", "replace") for k in cache._redis.scan_iter(cache._prefix + "*"))
    return ""


def pii_scan(ctx: DemoContext, log_file: Path, export_file: Path) -> dict[str, Any]:
    """How many raw personal values the simulated customers typed are found in each place loopwright stores data."""
    with export_file.open("w", encoding="utf-8") as f:
        for trace in load_traces(ctx.ws):
            f.write(json.dumps(trace.to_dict(), ensure_ascii=False) + "\n")
    places = {
        "database": _database_text(ctx),
        "cache": _cache_text(ctx),
        "logs": log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else "",
        "exported_traces": export_file.read_text(encoding="utf-8"),
    }
    values = sorted(ctx.driver.raw_pii)
    found = {place: sum(1 for v in values if any(x in text for x in _variants(v))) for place, text in places.items()}
    return {"values_checked": len(values), "found": found, "total_found": sum(found.values()),
            "bytes_scanned": {p: len(t) for p, t in places.items()}}


def tool_actions(ctx: DemoContext) -> dict[str, Any]:
    """Tool calls on the demo's traffic by outcome, and the signed receipts of the executed ones."""
    statuses: Counter = Counter()
    for trace in load_traces(ctx.ws):
        if trace.purpose != "serve":
            continue
        for tool in trace.tools:
            statuses[tool.status] += 1
    with ctx.ws.session() as s:
        receipts = [r for r in list_receipts(s) if r.action.startswith("tool.")]
    return {
        "attempted": sum(statuses.values()),
        "executed": statuses.get("executed", 0),
        "blocked": statuses.get("blocked", 0),
        "other": {k: v for k, v in statuses.items() if k not in ("executed", "blocked")},
        "receipts": [r.id for r in receipts],
    }


def governance(ctx: DemoContext) -> None:
    start = ctx.now()
    log_file = ctx.ws.state_dir / "logs" / "demo.log"
    scan = pii_scan(ctx, log_file, ctx.ws.root / "traces-export.jsonl")
    tools = tool_actions(ctx)
    with ctx.ws.session() as s:
        chain = verify_chain(s, ctx.ws)
        checks = [verify_artifacts(s), verify_blobs(ctx.ws, s), verify_deployment(s)]
    checks.append(verify_indexes(ctx.ws))
    problems = [f"{c.name}: {p}" for c in checks for p in c.problems]
    ctx.row("governance", "raw PII found (database, cache, logs, exported traces)", scan["total_found"], "", target="0",
            met=scan["total_found"] == 0)
    ctx.row("governance", "tool actions attempted", tools["attempted"], "")
    ctx.row("governance", "tool actions blocked by a validator", tools["blocked"], "")
    ctx.row("governance", "tool actions executed (with receipts)", tools["executed"], "", receipts=tools["receipts"])
    ctx.row("governance", "audit chain verified", chain.ok, "", target="intact", met=chain.ok)
    ctx.row("governance", "artifacts, blobs, indexes and deployment verified against their digests and receipts", not problems, "",
            target="no problem", met=not problems)
    ctx.phases.append({
        "name": "governance", "title": "Governance check", "start_t": start, "end_t": ctx.now(),
        "metrics": {"pii_scan": scan, "tools": tools, "audit": chain.to_dict(), "checks": [c.to_dict() for c in checks]},
        "summary": f"Scanned the database, cache, logs and exported traces for the {scan['values_checked']} personal values "
                   f"the simulated customers typed: {scan['total_found']} found. Tools: {tools['attempted']} attempted, "
                   f"{tools['blocked']} blocked, {tools['executed']} executed with signed receipts. Audit chain: "
                   f"{'intact' if chain.ok else 'BROKEN at ' + str(chain.broken_id)} ({chain.checked} receipts); "
                   + ", ".join(f"{c.checked} {c.name}" for c in checks)
                   + (" verified." if not problems else f" checked, problems: {'; '.join(problems[:3])}."),
        "trace_ids": [], "receipt_ids": tools["receipts"],
    })
