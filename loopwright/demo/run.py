"""Run the demo: a fresh Larkspur Bank workspace, every phase in order, then results.json and report.html."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loopwright.demo.governance import governance
from loopwright.demo.phases import PHASES, DemoContext, Sizes
from loopwright.demo.formatting import format_value
from loopwright.demo.report import write_report
from loopwright.demo.traffic import Driver
from loopwright.digests import utc_now
from loopwright.errors import LoopwrightError, WorkspaceError
from loopwright.samples.bank import REFERENCE_DATE
from loopwright.samples.bank.install import install_sample
from loopwright.serving.auth import create_key
from loopwright.serving.pipeline import Gateway
from loopwright.training.triage import TriageConfig, fit_triage
from loopwright.settings import STATE_DIR
from loopwright.workspace import Workspace, init_workspace

MARKER = "made-by-loopwright-demo"


def _fresh(folder: Path) -> Path:
    """`folder`, emptied if an earlier demo made it; refuse to touch any other workspace."""
    folder = folder.resolve()
    if (folder / STATE_DIR).exists():
        if not (folder / STATE_DIR / MARKER).exists():
            raise WorkspaceError(f"{folder} holds a workspace the demo did not make", hint="pass --workspace with a new folder")
        shutil.rmtree(folder)
    return folder


def run_demo(folder: Path, *, quick: bool = False, seed: int = 7, console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    started_at, t0 = utc_now(), time.monotonic()
    folder = _fresh(folder)
    ws = init_workspace(folder, name="larkspur-demo", sample="bank", as_of=REFERENCE_DATE)
    (ws.state_dir / MARKER).write_text("this workspace is recreated by each `loopwright demo` run\n")
    log_dir = ws.state_dir / "logs"
    log_dir.mkdir()
    handler = logging.FileHandler(log_dir / "demo.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root_logger = logging.getLogger("loopwright")
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.INFO)
    root_logger.propagate = False  # the demo's log goes to its file; the terminal shows progress and the table
    try:
        with console.status("loading the Larkspur Bank sample (documents, corpus index, configuration)"):
            install_sample(ws, reader=True)  # the economics router's small tier
        with console.status("fitting the triage classifier (or taking it from the cache)"):
            fit = fit_triage(ws, config=TriageConfig(seed=0), deploy=True)
        console.print(f"triage {fit.artifact.ref}: {'from the cache' if fit.cache_hit else 'fitted'} in {fit.seconds:.1f} s")
        gateway = Gateway(ws, watch=False)
        try:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            ) as progress:
                tasks: dict[str, Any] = {}

                def advance(label: str, total: int):
                    if label not in tasks:
                        tasks[label] = progress.add_task(label, total=total)
                    else:
                        progress.update(tasks[label], total=progress.tasks[tasks[label]].total + total)
                    return lambda: progress.advance(tasks[label])

                ctx = DemoContext(ws, gateway, Driver(gateway, seed, started=t0), Sizes.quick() if quick else Sizes(), advance,
                                  say=console.print)
                for name, phase in PHASES:
                    phase(ctx)  # a phase that pulls a lever observes, then consults the advisor (demo.advice)
                    for card in ctx.phases:
                        if card["name"] == name and name in ctx.advice:
                            card["advice"] = ctx.advice[name]
                governance(ctx)
        finally:
            gateway.close()
    finally:
        root_logger.removeHandler(handler)
        root_logger.propagate = True
        handler.close()

    results = {
        "seed": seed,
        "quick": quick,
        "workspace": str(ws.root),
        "started_at": started_at,
        "finished_at": utc_now(),
        "duration_s": round(time.monotonic() - t0, 1),
        "triage": fit.to_dict(),
        "phases": ctx.phases,
        "table": ctx.table,
        "timeline": [s.to_dict() for s in ctx.driver.served],
        "events": ctx.events,
    }
    (ws.root / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    write_report(results, ws.root / "report.html")
    _print_table(console, results)
    console.print(f"results: {ws.root / 'results.json'}\nreport:  {ws.root / 'report.html'}")
    # An operator's key for the console, shown once as every key is (only its hash is stored, and it is not in results.json)
    key, _ = create_key(ws, tenant="larkspur-retail", role="admin")
    console.print(f"console: `loopwright serve -w {ws.root}`, then http://127.0.0.1:8700/console with the key {key}")
    if ws.settings.observe.otlp_endpoint:
        _export(console, ws)
    return results


def _export(console: Console, ws: Workspace) -> None:
    """Every trace of the run into the configured OpenTelemetry receiver (Phoenix), the spans `serve` would send."""
    from loopwright.observe.otel import export_traces  # OpenTelemetry's SDK loads only where export is on

    try:
        with console.status(f"exporting the traces to {ws.settings.observe.otlp_endpoint}"):
            done = export_traces(ws, ws.settings.observe.otlp_endpoint)
    except LoopwrightError as exc:  # the run's figures stand; `loopwright trace export` sends them later
        console.print(f"traces not exported: {exc.one_line()}; retry with `loopwright trace export -w {ws.root}`")
        return
    console.print(f"OpenTelemetry: {done.traces} traces ({done.spans} spans) sent to {done.url}")


def _print_table(console: Console, results: dict[str, Any]) -> None:
    table = Table("phase", "metric", "value", "target", "met", title=f"Larkspur Bank demo (seed {results['seed']}, {results['duration_s']} s)")
    for row in results["table"]:
        met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: ""}[row["met"]]
        table.add_row(row["phase"], row["metric"], format_value(row["value"], row["unit"]), row["target"] or "", met)
    console.print(table)
