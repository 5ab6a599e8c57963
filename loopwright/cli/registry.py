"""`loopwright registry`: list, show, trace the lineage of, and register artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.errors import InvalidInput
from loopwright.registry import artifacts

app = typer.Typer(help="Content-addressed artifacts: models, adapters, prompts, corpora, routers, policies, datasets, goldens.", no_args_is_help=True)


@app.command("list", epilog="Example: loopwright registry list --kind corpus")
def list_(
    kind: Annotated[str | None, typer.Option(help=f"Only this kind: {', '.join(artifacts.KINDS)}.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List registered artifacts."""
    ws = open_workspace(workspace)
    found = artifacts.list_artifacts(ws, kind=kind)

    def render(console):
        table = Table("ref", "digest", "files", "created", "by")
        for a in found:
            table.add_row(a.ref, a.digest[:12], str(len(a.files)), a.created_at[:19], a.created_by)
        console.print(table if found else "no artifacts registered")

    emit([a.to_dict() for a in found], json, render)


@app.command(epilog="Example: loopwright registry show policy/bank@1")
def show(
    ref: Annotated[str, typer.Argument(help="kind/name@N, kind/name (latest) or a digest prefix.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one artifact: digest, files, lineage, provenance and the config that made it."""
    ws = open_workspace(workspace)
    a = artifacts.resolve(ws, ref)

    def render(console):
        console.print(f"[bold]{a.ref}[/bold]  sha256:{a.digest}")
        console.print(f"created {a.created_at} by {a.created_by}")
        for key, value in a.provenance.items():
            console.print(f"  {key}: {value}")
        console.print("parents: " + (", ".join(p[:12] for p in a.parents) or "none"))
        table = Table("file", "size", "digest")
        for path, entry in sorted(a.files.items()):
            table.add_row(path, str(entry["size"]), entry["digest"][:12])
        console.print(table)
        if a.config:
            console.print(f"config: {a.config}")

    emit(a.to_dict(), json, render)


@app.command(epilog="Example: loopwright registry lineage corpus/bank")
def lineage(
    ref: Annotated[str, typer.Argument(help="kind/name@N, kind/name (latest) or a digest prefix.")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show an artifact and its ancestors."""
    ws = open_workspace(workspace)
    chain = artifacts.lineage(ws, ref)

    def render(console):
        nodes = {}
        root = None
        for depth, a in chain:
            label = f"{a.ref}  {a.digest[:12]}"
            if depth == 0:
                root = nodes[0] = Tree(label)
            else:
                nodes[depth] = nodes[depth - 1].add(label)
        console.print(root)

    emit([{"depth": d, **a.to_dict()} for d, a in chain], json, render)


@app.command(epilog="Example: loopwright registry register goldens bank goldens.jsonl --source 'QA team' --licence internal")
def register(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(artifacts.KINDS)}.")],
    name: Annotated[str, typer.Argument(help="Artifact name: lowercase letters, digits, '.', '_', '-'.")],
    paths: Annotated[list[Path], typer.Argument(help="Files, or one folder whose files make the artifact.")],
    parent: Annotated[list[str] | None, typer.Option(help="An artifact this one derives from (repeatable).")] = None,
    source: Annotated[str | None, typer.Option(help="Where the content came from.")] = None,
    licence: Annotated[str | None, typer.Option(help="The licence that attaches to it.")] = None,
    consent: Annotated[str | None, typer.Option(help="The consent basis for any personal data in it.")] = None,
    sensitivity: Annotated[str | None, typer.Option(help="public, internal or restricted.")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register files as the next version of KIND/NAME (identical content returns the existing version)."""
    ws = open_workspace(workspace)
    files = _read_paths(paths)
    provenance = {
        k: v
        for k, v in {"source": source, "licence": licence, "consent": consent, "sensitivity": sensitivity}.items()
        if v is not None
    }
    a = artifacts.register(ws, kind, name, files, parents=parent or (), provenance=provenance)
    emit(a.to_dict(), json, lambda c: c.print(f"{a.ref}  sha256:{a.digest}"))


def _read_paths(paths: list[Path]) -> dict[str, bytes]:
    if len(paths) == 1 and paths[0].is_dir():
        return artifacts.files_from_dir(paths[0])
    files = {}
    for path in paths:
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file", hint="pass files, or a single folder")
        if path.name in files:
            raise InvalidInput(f"two files named {path.name!r}", hint="put them in a folder and pass the folder")
        files[path.name] = path.read_bytes()
    return files
