"""`loopwright feedback`: grade or correct a trace from the command line (a call-centre tool, a script)."""

from __future__ import annotations

from typing import Annotated

import typer

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput
from loopwright.learning.feedback import Author, record_feedback
from loopwright.policy.loader import deployed_policy


def _rubric(pairs: list[str]) -> dict[str, int]:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not name or not value.strip().lstrip("-").isdigit():
            raise InvalidInput(f"--rubric takes NAME=SCORE with an integer score, got {pair!r}")
        out[name.strip()] = int(value)
    return out


def feedback(
    trace_id: Annotated[str, typer.Argument(help="The trace id (tr_...).")],
    thumbs: Annotated[str | None, typer.Option(help="up or down.")] = None,
    score: Annotated[float | None, typer.Option(help="An overall score, 0 to 5.")] = None,
    rubric: Annotated[list[str] | None, typer.Option(help="A rubric score, NAME=SCORE, on the policy's [feedback] scale (repeatable).")] = None,
    csat: Annotated[int | None, typer.Option(help="Customer satisfaction, 1 to 5.")] = None,
    correct: Annotated[str | None, typer.Option("--correct", help="The right intent for the customer's message.")] = None,
    text: Annotated[str | None, typer.Option(help="Free text (masked; kept only with --consent).")] = None,
    consent: Annotated[bool, typer.Option("--consent/--no-consent", help="The customer agreed to this being used for learning.")] = False,
    agent: Annotated[str | None, typer.Option(help="The call-centre agent giving it (recorded as its author); default: you, as operator.")] = None,
    role: Annotated[str, typer.Option(help="The author's role, with --agent.")] = "agent",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Store feedback on a trace: thumbs, scores, a CSAT score, a corrected intent, free text, and consent.

    Only feedback given with consent is ever curated into a dataset; a correction is a label only
    when its author's role is one of the policy's [feedback] correctors.
    """
    if thumbs not in (None, "up", "down"):
        raise InvalidInput(f"--thumbs must be up or down, got {thumbs!r}")
    ws = open_workspace(workspace)
    author = Author(role, agent) if agent else Author("operator", ws.actor)
    fields = {
        "thumbs": None if thumbs is None else (1 if thumbs == "up" else -1), "score": score, "rubric": _rubric(rubric or []),
        "csat": csat, "correction": correct, "text": text, "consent": consent,
    }
    outcome = record_feedback(ws, trace_id, author=author, policy=deployed_policy(ws), **{k: v for k, v in fields.items() if v is not None})
    result = {"trace_id": trace_id, "outcome": outcome, "author": author.identity, "role": author.role, "consent": consent}
    emit(result, json, lambda c: c.print(f"{trace_id}: outcome {outcome} (by {author.identity}, {'consented' if consent else 'not for learning'})"))


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright feedback tr_0123 --correct chargeback_grace --agent agt_ana --consent")(feedback)
