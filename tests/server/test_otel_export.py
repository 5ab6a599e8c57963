"""OpenTelemetry export into a real receiver: Arize Phoenix started on a free port, spans read back from it.

Phoenix is started once for the module (one to several minutes on two cores, by their load).
Without it the tests skip on a developer's machine and fail under CI,
as the PostgreSQL tests do; `scripts/services.sh` installs it.
"""

from __future__ import annotations

import json
import os
import socket
import time

import httpx
import pytest
from live import lw, openai_client
from phoenix import Phoenix, phoenix_executable
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.errors import InvalidInput, LoopwrightError
from loopwright.observe.otel import otel_trace_id
from loopwright.settings import ObserveSection

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def phoenix():
    executable = phoenix_executable()
    if executable is None:
        message = "Arize Phoenix is not installed (scripts/services.sh makes .venv-phoenix)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Phoenix(executable) as px:
        yield px


def _flat(attributes: dict, prefix: str = "") -> dict:
    """Phoenix returns attributes nested by their dots; flatten them back to OTel keys."""
    out = {}
    for key, value in attributes.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _exporting(ws, endpoint: str, **observe) -> None:
    ws.settings = ws.settings.model_copy(update={"observe": ObserveSection(otlp_endpoint=endpoint, **observe)})


def _wait_for(read, predicate, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_every_call_is_a_span_tree_in_phoenix(triaged_bank, serve, new_key, phoenix):
    project = f"lw-{os.getpid()}-{time.monotonic_ns()}"
    _exporting(triaged_bank, phoenix.url, service_name=project)
    server = serve(triaged_bank)
    client = openai_client(server, new_key(triaged_bank))
    answers = [client.chat.completions.create(model="larkspur-assistant", messages=[{"role": "user", "content": q}])
               for q in ("What is the APY on the Larkspur Saver?", "What is the late fee for FlexPay 2.0?")]
    server.stop()  # drains the export queue

    ids = {lw(a)["trace_id"] for a in answers}
    spans = _wait_for(lambda: phoenix.spans(project), lambda s: len({x["context"]["trace_id"] for x in s}) >= 2)
    roots = {s["context"]["trace_id"]: s for s in spans if not s.get("parent_id")}
    assert {f"{otel_trace_id(i):032x}" for i in ids} == set(roots)

    trace = lw(answers[0])
    root = roots[f"{otel_trace_id(trace['trace_id']):032x}"]
    attrs = _flat(root["attributes"])
    assert root["name"] == "chat larkspur-assistant"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "larkspur-assistant"
    assert attrs["gen_ai.usage.output_tokens"] == answers[0].usage.completion_tokens > 0
    assert attrs["loopwright.trace_id"] == trace["trace_id"]
    assert attrs["loopwright.intent"] == "savings_rates"
    assert attrs["loopwright.tier"] == trace["tier"]
    assert attrs["loopwright.outcome"] == "answered"
    assert attrs["loopwright.retrieval.fingerprint"]
    assert attrs["loopwright.bundle.model:triage"].startswith("model/triage@")
    assert attrs["loopwright.cache.hit"] is False

    children = {s["name"]: _flat(s["attributes"]) for s in spans
                if s.get("parent_id") == root["context"]["span_id"]}
    assert {"input_policy", "triage", "retrieval", "generate"} <= set(children)
    assert children["generate"]["gen_ai.usage.input_tokens"] == answers[0].usage.prompt_tokens > 0

    declined = _flat(roots[f"{otel_trace_id(lw(answers[1])['trace_id']):032x}"]["attributes"])
    assert declined["loopwright.outcome"] == "declined" and declined["loopwright.decline_reason"]


def test_stored_traces_are_exported_once_by_trace_export(triaged_bank, phoenix, monkeypatch):
    """`loopwright ask` runs in-process with no exporter: `trace export` sends what the store holds, and sending
    it again adds no span (span ids follow from the trace id), so a demo's traces reach Phoenix whole."""
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(triaged_bank.root))
    project = f"lw-backfill-{os.getpid()}-{time.monotonic_ns()}"
    asked = [_cli_json("ask", q)["trace_id"]
             for q in ("What is the APY on the Larkspur Saver?", "How do I freeze my card?", "¿Cuál es la comisión por pago tardío de FlexPay?")]

    first = _cli_json("trace", "export", "--endpoint", phoenix.url, "--service-name", project)
    assert first["traces"] == len(asked) and first["spans"] > len(asked)
    spans = _wait_for(lambda: phoenix.spans(project), lambda s: len(s) >= first["spans"])
    assert {s["context"]["trace_id"] for s in spans} == {f"{otel_trace_id(i):032x}" for i in asked}
    assert len(spans) == first["spans"]

    again = _cli_json("trace", "export", "--endpoint", phoenix.url, "--service-name", project)
    assert again == first
    time.sleep(2)  # what Phoenix would have added, had the second export made new spans
    assert len(phoenix.spans(project)) == first["spans"]


def test_trace_export_says_in_one_line_when_there_is_nowhere_to_send(triaged_bank, monkeypatch):
    monkeypatch.setenv("LOOPWRIGHT_WORKSPACE", str(triaged_bank.root))
    _cli_json("ask", "What are your branch hours?")
    missing = CliRunner().invoke(app, ["trace", "export"])
    assert isinstance(missing.exception, InvalidInput) and "no OTLP endpoint to export to" in missing.exception.one_line()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    refused = CliRunner().invoke(app, ["trace", "export", "--endpoint", dead, "--timeout-s", "2"])
    assert isinstance(refused.exception, LoopwrightError)
    assert "did not accept spans within 2 s; 0 traces were sent before it" in refused.exception.one_line()


def _cli_json(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_never_blocks_and_counts_what_it_drops(triaged_bank, serve, new_key):
    with socket.socket() as s:  # a port nobody listens on: every export fails
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    _exporting(triaged_bank, dead, otlp_queue=1)
    server = serve(triaged_bank)
    client = openai_client(server, new_key(triaged_bank))
    started = time.perf_counter()
    for _ in range(6):
        client.chat.completions.create(model="larkspur-assistant",
                                       messages=[{"role": "user", "content": "What are your branch hours?"}])
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0  # the exporter's retries (5 s timeout) happen off the request path

    operator = new_key(triaged_bank, role="admin")
    metrics = _wait_for(
        lambda: httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {operator}"}).text,
        lambda text: _dropped(text) > 0,
    )
    assert _dropped(metrics) > 0


def _dropped(exposition: str) -> float:
    for line in exposition.splitlines():
        if line.startswith("loopwright_otel_dropped_spans_total"):
            return float(line.split()[-1])
    return 0.0
