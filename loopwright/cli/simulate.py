"""`loopwright simulate`: a realistic request stream from the sample bank, as JSON lines."""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt


def simulate(
    n: Annotated[int, typer.Option("--n", min=1, max=1_000_000, help="How many requests.")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same stream.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    json: JsonOpt = False,
) -> None:
    """Generate simulated Larkspur Bank traffic: repeats, paraphrases, typos, three languages, PII, unsafe tool requests."""
    from loopwright.samples.bank.simulate import simulate as generate

    requests = generate(n, seed)
    if json:
        sys.stdout.write(jsonlib.dumps(list(requests), indent=2, ensure_ascii=False) + "\n")
        return
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for request in requests:
            sink.write(jsonlib.dumps(request, ensure_ascii=False, sort_keys=True) + "\n")
    finally:
        if out:
            sink.close()


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright simulate --n 1000 --seed 7 --out traffic.jsonl")(simulate)
