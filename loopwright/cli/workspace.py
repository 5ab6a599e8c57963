"""`loopwright init`: make a workspace, optionally with a sample loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, emit
from loopwright.errors import InvalidInput
from loopwright.registry.deployment import get_deployment
from loopwright.workspace import init_workspace

SAMPLES = ("bank",)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the workspace; created if missing.")],
    sample: Annotated[str | None, typer.Option(help="Load a sample: 'bank' is Larkspur Bank (its reader is trained here, or taken from the cache).")] = None,
    name: Annotated[str | None, typer.Option(help="Workspace name; default the folder name.")] = None,
    json: JsonOpt = False,
) -> None:
    """Create a workspace: loopwright.toml, and .loopwright/ with the database, blob store and signing key."""
    if sample is not None and sample not in SAMPLES:
        raise InvalidInput(f"unknown sample {sample!r}", hint=f"one of: {', '.join(SAMPLES)}")
    as_of = None
    if sample == "bank":
        from loopwright.samples.bank import REFERENCE_DATE as as_of
    ws = init_workspace(directory, name=name, sample=sample, as_of=as_of)
    loaded = []
    if sample == "bank":
        from loopwright.samples.bank.install import install_sample

        loaded = install_sample(ws)  # the reader is `loopwright model reader --deploy`: router.toml does not use it, router-economics.toml does
    dep = get_deployment(ws)
    data = {
        "workspace": str(ws.root),
        "database": ws.settings.store.database_url or "sqlite (.loopwright/loopwright.db)",
        "key_id": ws.signer.key_id,
        "sample": sample,
        "artifacts": [a.to_dict() for a in loaded],
        "deployment": dep.to_dict(),
    }

    def render(console):
        console.print(f"workspace ready: {ws.root}  (signing key {ws.signer.key_id})")
        if loaded:
            table = Table("artifact", "digest", "files", title=f"sample '{sample}' loaded")
            for a in loaded:
                table.add_row(a.ref, a.digest[:12], str(len(a.files)))
            console.print(table)
            console.print("deployed: " + ", ".join(f"{s}={st.stable.ref}" for s, st in sorted(dep.slots.items())))
        console.print(f"next: cd {ws.root} && loopwright registry list && loopwright audit verify")

    emit(data, json, render)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: loopwright init /tmp/ws --sample bank")(init)
