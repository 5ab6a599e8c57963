"""Golden suites: recorded inputs with the properties their answers must have, run through the real request path.

A suite is a `goldens` artifact (`goldens.jsonl`). Running it sends every input
through `Gateway.complete` with the bundle under test (stable, canary, or stable
with candidate slots replaced); tools are validated but not executed (dry run),
and the traces are marked `purpose = golden` so they never count as traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loopwright.errors import InvalidInput, LoopwrightError, NotFound
from loopwright.registry.artifacts import Artifact, list_artifacts, read_file, resolve
from loopwright.release.judge import Observed, judge
from loopwright.serving.trace import Trace

if TYPE_CHECKING:
    from loopwright.serving.pipeline import Gateway
    from loopwright.workspace import Workspace


class ToolExpectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    expect: Literal["allowed", "blocked"]


class Golden(BaseModel):
    """One golden trace: the input, who asks, and what the answer must do."""

    model_config = ConfigDict(extra="forbid")
    id: str
    input: str = Field(min_length=1)
    language: str = "en"
    tenant: str
    customer_id: str | None = None
    intent: str | None = None
    critical: bool = False
    must_cite: list[str] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    must_decline: bool = False
    tool: ToolExpectation | None = None
    no_pii_out: bool = True
    latency_ms_max: float | None = None
    tags: list[str] = Field(default_factory=list)

    @property
    def role(self) -> str:
        return "agent" if self.tenant.endswith("staff") else "customer"


@dataclass(frozen=True)
class GoldenResult:
    id: str
    critical: bool
    passed: bool
    failures: list[str]
    trace_id: str | None
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "critical": self.critical, "passed": self.passed, "failures": self.failures, "trace_id": self.trace_id, "tags": self.tags}


@dataclass(frozen=True)
class GoldenReport:
    suite: str
    bundle: str
    results: list[GoldenResult]

    @property
    def critical_failures(self) -> list[GoldenResult]:
        return [r for r in self.results if r.critical and not r.passed]

    @property
    def ok(self) -> bool:
        return not self.critical_failures

    def summary(self) -> dict[str, Any]:
        failed = [r for r in self.results if not r.passed]
        return {
            "suite": self.suite,
            "bundle": self.bundle,
            "total": len(self.results),
            "passed": len(self.results) - len(failed),
            "failed": len(failed),
            "critical_failed": len(self.critical_failures),
            "ok": self.ok,
            "failures": [r.to_dict() for r in failed][:50],
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "results": [r.to_dict() for r in self.results]}


def load_suite(ws: Workspace, ref: str | None = None) -> tuple[Artifact, list[Golden]]:
    """The goldens of `ref` (default: the latest version of the workspace's only suite)."""
    if ref is None:
        suites = sorted({a.name for a in list_artifacts(ws, kind="goldens")})
        if not suites:
            raise NotFound("no goldens suite is registered", hint="`loopwright registry register goldens NAME goldens.jsonl`")
        if len(suites) > 1:
            raise InvalidInput(f"several goldens suites ({', '.join(suites)})", hint="pass --suite goldens/NAME")
        ref = f"goldens/{suites[0]}"
    artifact = resolve(ws, ref, kind="goldens")
    goldens = []
    for n, line in enumerate(read_file(ws, artifact, "goldens.jsonl").decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            goldens.append(Golden.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidInput(f"{artifact.ref} goldens.jsonl line {n}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return artifact, goldens


def run_suite(
    gateway: Gateway,
    goldens: list[Golden],
    *,
    suite: str,
    overrides: dict[str, Artifact] | None = None,
    channel: Literal["stable", "canary"] = "stable",
) -> GoldenReport:
    """Run every golden through the request path with the chosen bundle; judge each answer."""
    from loopwright.serving.pipeline import ChatRequest

    if channel == "canary":
        overrides = {slot: s.canary for slot, s in gateway.watcher.current.slots.items() if s.canary} | (overrides or {})
    label = ", ".join(f"{slot}={a.ref}" for slot, a in sorted((overrides or {}).items())) or "stable"
    model = gateway.models()[0]
    # One unjudged call first, so model and index loading is not charged to the first golden's latency.
    if goldens:
        first = goldens[0]
        gateway.complete(ChatRequest(model=model, messages=[{"role": "user", "content": first.input}]),
                         gateway.principal_for(first.tenant, first.role, first.customer_id), overrides=overrides, purpose="golden")
    results = []
    for g in goldens:
        try:
            completion = gateway.complete(
                ChatRequest(model=model, messages=[{"role": "user", "content": g.input}]),
                gateway.principal_for(g.tenant, g.role, g.customer_id, key_id="golden"),
                overrides=overrides,
                purpose="golden",
            )
            verdict = judge(g.model_dump(), Observed.from_trace(completion.trace), check_latency=True)
            results.append(GoldenResult(g.id, g.critical, verdict.passed, verdict.failures, completion.trace_id, g.tags))
        except LoopwrightError as exc:
            results.append(GoldenResult(g.id, g.critical, False, [f"request failed: {exc.one_line()}"], None, g.tags))
    return GoldenReport(suite, label, results)


def gate(candidate: GoldenReport, baseline: GoldenReport | None) -> dict[str, Any]:
    """The golden gate's verdict. Without a baseline: every critical golden must pass (`all_pass`).
    With one (`no_regression`): no critical golden that passes on stable may fail on the candidate."""
    summary = candidate.summary()
    if baseline is None:
        return {**summary, "mode": "all_pass"}
    passed_on_stable = {r.id for r in baseline.results if r.passed}
    regressions = [r for r in candidate.critical_failures if r.id in passed_on_stable]
    fixed = [r.id for r in candidate.results if r.passed and r.id not in passed_on_stable]
    return {
        **summary,
        "mode": "no_regression",
        "ok": not regressions,
        "regressions": [r.to_dict() for r in regressions],
        "known_failures": [r.id for r in candidate.critical_failures if r.id not in passed_on_stable],
        "fixed": fixed,
        "stable_passed": len(passed_on_stable),
    }


def golden_from_trace(record: Trace | dict[str, Any], golden_id: str) -> dict[str, Any]:
    """A draft golden from a real (masked) trace, for the team to edit: what it cited, declined or called."""
    t = Trace.from_dict(record)
    tools = t.tools
    return Golden(
        id=golden_id,
        input=t.input or "",
        tenant=t.principal.tenant,
        customer_id=t.principal.subject,
        intent=t.intent,
        must_cite=sorted({c.doc_id for c in t.citations}),
        must_decline=t.outcome == "declined",
        tool=ToolExpectation(name=tools[0].name, expect="allowed" if tools[0].status in ("executed", "dry_run") else "blocked")
        if tools
        else None,
        tags=["recorded", t.id],
    ).model_dump(exclude_defaults=False)


def dump_jsonl(goldens: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(g, ensure_ascii=False, sort_keys=True) + "\n" for g in goldens)
