"""`loopwright serve`, `keys`, `ask`, `trace` and `report`: the inference plane from the command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Column, Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace, step_progress
from loopwright.errors import InvalidInput
from loopwright.observe import report as reports
from loopwright.observe import traces
from loopwright.serving import auth

keys_app = typer.Typer(help="API keys: each maps to a tenant, role and scopes; stored hashed.", no_args_is_help=True)
trace_app = typer.Typer(help="Inference traces: one per call, with every version and decision that served it.", no_args_is_help=True)


WORKER_PING_S = 60.0


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from loopwright.toml).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from loopwright.toml, 8700).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes sharing the port (uvicorn's supervisor); "
                                         "each loads the deployment and writes its own traces to the shared store.")] = 1,
    workspace: WorkspaceOpt = None,
) -> None:
    """Start the OpenAI-compatible gateway. SIGTERM drains in-flight requests and queued traces.

    `--workers N` runs N processes on one port, for N cores: each watches the deployment (a rollback reaches every
    one within its poll interval) and writes its traces through the store (SQLite WAL or PostgreSQL); set
    LOOPWRIGHT_REDIS_URL so they share one cache. Replicas on other machines are more `serve` processes on the same
    PostgreSQL and Redis behind a load balancer. One process at a time (a lease in the store) also runs canary
    analysis and automatic promotion or rollback, every [serve] release_interval_s seconds.
    """
    import uvicorn

    ws = open_workspace(workspace)
    ws.engine  # noqa: B018 - fail now, in one line, if the database does not answer
    options = dict(host=host or ws.settings.serve.host, port=port or ws.settings.serve.port, log_level="warning",
                   access_log=False, timeout_graceful_shutdown=30)  # traces are the access log
    if workers == 1:
        from loopwright.server.app import create_app

        uvicorn.run(create_app(ws, warm=True, release_interval_s=ws.settings.serve.release_interval_s), **options)
        return
    # uvicorn starts worker processes by import string: each builds its app for the workspace named here
    os.environ["LOOPWRIGHT_WORKSPACE"] = str(ws.root)
    ws.close()
    # uvicorn's supervisor kills a worker that misses a 5 s ping: on a busy machine a worker holding the GIL
    # through a model forward missed it (seen: 11 requests reset, their traces lost, at load 12 on 2 cores).
    # A minute still catches a hung worker without killing a busy one.
    uvicorn.run("loopwright.server.app:app_from_environment", factory=True, workers=workers,
                timeout_worker_healthcheck=WORKER_PING_S, **options)


@keys_app.command("create", epilog="Example: loopwright keys create --tenant larkspur-retail --role customer --subject cus_001")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant the key belongs to.")],
    role: Annotated[str, typer.Option(help="Role: customer, agent, admin...")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope (repeatable).")] = None,
    subject: Annotated[str | None, typer.Option(help="The customer this key acts for.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an API key. The key is printed once; only its hash is stored.

    The tenant, the role and every scope must be ones the live policy defines.
    """
    from loopwright.policy.loader import deployed_policy

    ws = open_workspace(workspace)
    policy = deployed_policy(ws)
    secret, principal = auth.create_key(ws, tenant=tenant, role=role, scopes=tuple(scope or ()), subject=subject, policy=policy)
    emit({"key": secret, **principal.to_dict()}, json, lambda c: c.print(f"{secret}\n(key id {principal.key_id}; shown once, store it now)"))


@keys_app.command("list", epilog="Example: loopwright keys list")
def keys_list(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List keys (never the keys themselves)."""
    ws = open_workspace(workspace)
    found = auth.list_keys(ws)

    def render(console):
        table = Table(Column("id", no_wrap=True, min_width=20), "tenant", "role", "subject", "created", "revoked")  # ids stay whole: `keys revoke` takes them
        for k in found:
            table.add_row(k["id"], k["tenant"], k["role"], k["subject"] or "-", k["created_at"][:19], (k["revoked_at"] or "-")[:19])
        console.print(table if found else "no keys")

    emit(found, json, render)


@keys_app.command("revoke", epilog="Example: loopwright keys revoke key_0123456789abcdef")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (key_...).")], workspace: WorkspaceOpt = None) -> None:
    """Revoke a key (takes effect on running servers within seconds)."""
    auth.revoke_key(open_workspace(workspace), key_id)
    typer.echo(f"revoked {key_id}")


def ask(
    question: Annotated[str, typer.Argument(help="The customer's question.")],
    tenant: Annotated[str, typer.Option(help="Tenant to ask as.")] = "larkspur-retail",
    role: Annotated[str, typer.Option(help="Role to ask as.")] = "customer",
    subject: Annotated[str | None, typer.Option(help="Customer id to act for.")] = None,
    conversation: Annotated[str | None, typer.Option(help="The conversation this question continues (its id); new if omitted.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run a question through the request path in-process; print the answer, citations and trace id."""
    from loopwright.serving.pipeline import ChatRequest, Gateway

    ws = open_workspace(workspace)
    gateway = Gateway(ws, watch=False)
    try:
        model = gateway.models()[0]
        completion = gateway.complete(
            ChatRequest(model=model, messages=[{"role": "user", "content": question}], conversation=conversation),
            gateway.principal_for(tenant, role, subject, key_id="cli"),
        )
    finally:
        gateway.close()
    lw = completion.loopwright

    def render(console):
        console.print(completion.text)
        for c in lw["citations"]:
            console.print(f"  [{c['n']}] {c['doc_id']} {c['start']}-{c['end']} (commit {c['commit'][:12]})")
        console.print(f"intent {lw['intent']} ({lw['confidence']}), tier {lw['tier']}, trace {lw['trace_id']}, "
                      f"conversation {lw['conversation_id']}")

    emit({"answer": completion.text, **lw}, json, render)


@trace_app.command("show", epilog="Example: loopwright trace show tr_0123456789abcdef01234567")
def trace_show(trace_id: Annotated[str, typer.Argument(help="The trace id (tr_...).")], workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show one trace in full: versions, retrieval, triage, route, tools, validators, policies, stages, cost."""
    record = traces.get_trace(open_workspace(workspace), trace_id, tenant=None)
    emit(record, json, lambda c: c.print_json(data=record))


@trace_app.command("list", epilog="Example: loopwright trace list --intent flexpay --limit 20")
def trace_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 UTC lower bound.")] = None,
    intent: Annotated[str | None, typer.Option(help="Only this intent.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Only this outcome.")] = None,
    conversation: Annotated[str | None, typer.Option(help="Only this conversation's turns (its id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List recent traces, newest first."""
    found = traces.list_traces(open_workspace(workspace), tenant=tenant, since=since, intent=intent, outcome=outcome,
                               conversation=conversation, limit=limit)

    def render(console):
        table = Table(Column("id", no_wrap=True, min_width=27), "time", "tenant", "intent", "tier", "cache", "outcome", "ms", "cost")  # ids stay whole: `trace show` takes them
        for t in found:
            table.add_row(t["id"], t["ts"][:19], t["tenant"], t["intent"] or "-", t["tier"] or "-", "hit" if t["cache_hit"] else "-", t["outcome"], f"{t['latency_ms']:.1f}", f"{t['cost']:.6f}")
        console.print(table if found else "no traces")

    emit(found, json, render)


@trace_app.command("export", epilog="Example: loopwright trace export --endpoint http://127.0.0.1:6006")
def trace_export(
    endpoint: Annotated[str | None, typer.Option(help="OTLP/HTTP receiver (Phoenix: http://127.0.0.1:6006); default: the workspace's observe.otlp_endpoint.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 UTC lower bound.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 UTC upper bound (exclusive).")] = None,
    service_name: Annotated[str | None, typer.Option(help="The service (Phoenix: project) name; default: observe.service_name.")] = None,
    timeout_s: Annotated[float, typer.Option(min=1, max=3600, help="How long a batch may wait for a receiver that pushes back.")] = 60.0,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Send stored traces to an OpenTelemetry receiver as span trees (e.g. a demo's traces into Phoenix).

    Span ids follow from each trace's id, so traces already exported live are not duplicated.
    """
    from loopwright.observe.otel import export_traces  # OpenTelemetry's SDK loads only for this command

    ws = open_workspace(workspace)
    url = endpoint or ws.settings.observe.otlp_endpoint
    if not url:
        raise InvalidInput("no OTLP endpoint to export to", hint="pass --endpoint URL or set [observe] otlp_endpoint")
    with step_progress(json) as progress:
        done = export_traces(ws, url, since=since, until=until, service_name=service_name, timeout_s=timeout_s,
                             progress=progress)
    emit(done.to_dict(), json, lambda c: c.print(f"exported {done.traces} traces ({done.spans} spans) to {done.url}"))


def report(
    since: Annotated[str | None, typer.Option(help="ISO-8601 UTC start of the window.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601 UTC end of the window.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Requests, latency p50/p95/p99, cache-hit, escalation, decline and defect rates, cost per accepted outcome;
    then per conversation: first-contact resolution, time-to-valid, CSAT (with intervals) and cost per accepted
    answer and action, overall and per release, intent and language."""
    data = reports.report(open_workspace(workspace), since=since, until=until)

    def render(console):
        table = Table("deployment", "channel", "requests", "p50 ms", "p95 ms", "p99 ms", "cache", "escalated", "declined", "defects", "cost", "$/accepted")
        rows = [("all", "-", data["overall"])] + [(f"v{d['deployment_version']}", d["channel"], d) for d in data["deployments"]]
        for name, channel, s in rows:
            if not s.get("requests"):
                continue
            table.add_row(
                name, channel, str(s["requests"]), *(f"{s['latency_ms'][p]:.1f}" for p in ("p50", "p95", "p99")),
                f"{s['cache_hit_rate']:.1%}", f"{s['escalation_rate']:.1%}", f"{s['decline_rate']:.1%}",
                "-" if s["defect_rate"] is None else f"{s['defect_rate']:.1%}", f"{s['total_cost']:.4f}",
                "-" if s["cost_per_accepted"] is None else f"{s['cost_per_accepted']:.5f}",
            )
        console.print(table if data["overall"].get("requests") else "no traces in this window")
        stages = data["stages"]
        costs = Table("stage", "cost", "$/accepted", title=f"cost across the stages ({stages['accepted']} accepted of {stages['calls']} calls)")
        for stage in ("inference", "self-learning", "training", "total"):
            per = stages["per_accepted"][stage]
            costs.add_row(stage, f"{stages['cost'][stage]:.6f}", "-" if per is None else f"{per:.6f}")
        console.print(costs)
        if stages["unserved"]:
            console.print(f"jobs whose artifacts served no call yet: {stages['unserved']:.6f} (not amortised)")
        outcomes = data["outcomes"]
        if outcomes["overall"]["conversations"]:
            console.print(_outcome_table(outcomes))

    emit(data, json, render)


def _share(s: dict) -> str:
    return "-" if s["value"] is None else f"{s['value']:.0%} [{s['low']:.0%}, {s['high']:.0%}]"


def _mean(e: dict, unit: str = "") -> str:
    return "-" if e["value"] is None else f"{e['value']:.2f}{unit} [{e['low']:.2f}, {e['high']:.2f}]"


def _outcome_table(outcomes: dict) -> Table:
    """The outcome metrics overall and per segment, each figure with its interval."""
    conf = outcomes["rules"]["confidence"]
    table = Table("segment", "value", "conversations", "FCR", "to valid (s)", "to valid (turns)", "CSAT", "satisfied",
                  "$/answer", "$/action", title=f"outcomes per conversation ({conf:.0%} intervals; "
                  f"repeat window {outcomes['rules']['repeat_window_days']:g} days)")
    rows = [("all", "-", outcomes["overall"])]
    rows += [(name, value, m) for name, values in outcomes["segments"].items() for value, m in values.items()]
    for name, value, m in rows:
        table.add_row(
            name, value, str(m["conversations"]), _share(m["fcr"]), _mean(m["time_to_valid_s"]), _mean(m["time_to_valid_turns"]),
            _mean(m["csat"]), _share(m["csat_satisfied"]),
            "-" if m["cost_per_accepted_answer"] is None else f"{m['cost_per_accepted_answer']:.5f}",
            "-" if m["cost_per_accepted_action"] is None else f"{m['cost_per_accepted_action']:.5f}",
        )
    return table


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright serve --port 8700")(serve)
    app.command(epilog='Example: loopwright ask "What is the late fee for FlexPay 2.0?" --tenant larkspur-retail')(ask)
    app.command(epilog="Example: loopwright report --since 2026-11-01T00:00:00Z")(report)
    app.add_typer(keys_app, name="keys")
    app.add_typer(trace_app, name="trace")
