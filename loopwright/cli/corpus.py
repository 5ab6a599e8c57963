"""`loopwright corpus ...` (stage, certify, retire, commit, log, diff, revert, show) and `loopwright search`.

Thin wrappers over `loopwright.corpus.commits` and `loopwright.corpus.retrieval`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loopwright.cli.common import JsonOpt, WorkspaceOpt, emit, open_workspace
from loopwright.corpus import commits
from loopwright.errors import InvalidInput

app = typer.Typer(
    help="The knowledge corpus: stage documents, certify or retire them, commit, and compare commits.",
    no_args_is_help=True,
)

CorpusOpt = Annotated[
    str | None,
    typer.Option("--corpus", help="Corpus name. Default: the workspace's sample name, else 'main'.", show_default=False),
]


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{flag} {value!r} is not a date", hint="use YYYY-MM-DD") from None


def _changes_line(changes: dict[str, list[str]]) -> str:
    parts = [f"{kind}: {', '.join(ids)}" for kind, ids in changes.items() if ids]
    return "; ".join(parts) or "no changes"


@app.command(epilog="Example: loopwright corpus add bank/docs/flexpay-2-0.md")
def add(
    paths: Annotated[list[Path], typer.Argument(help="Document files, or folders whose .md/.markdown/.txt files are all added.")],
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Stage documents (all are validated first; one bad file stages nothing)."""
    ws = open_workspace(workspace)
    ids = commits.stage_add(ws, paths, corpus)
    emit({"staged": ids}, json, lambda c: c.print(f"staged {len(ids)} document(s): {', '.join(ids)}"))


@app.command(epilog="Example: loopwright corpus certify flexpay-2-0")
def certify(
    doc_id: Annotated[str, typer.Argument(help="The document id (front matter `id`).")],
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Stage certification of a document: certified documents are what retrieval may answer from."""
    ws = open_workspace(workspace)
    commits.stage_certify(ws, doc_id, corpus)
    emit({"staged": {"op": "certify", "doc_id": doc_id}}, json, lambda c: c.print(f"staged: certify {doc_id}"))


@app.command(epilog="Example: loopwright corpus retire flexpay-1-0 --on 2026-08-31")
def retire(
    doc_id: Annotated[str, typer.Argument(help="The document id (front matter `id`).")],
    on: Annotated[str | None, typer.Option(help="Retirement date, YYYY-MM-DD. Default: today.")] = None,
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Stage retirement of a document: from that day it is stale and never answered from."""
    ws = open_workspace(workspace)
    when = commits.stage_retire(ws, doc_id, _date(on, "--on"), corpus)
    emit(
        {"staged": {"op": "retire", "doc_id": doc_id, "on": when.isoformat()}},
        json,
        lambda c: c.print(f"staged: retire {doc_id} on {when.isoformat()}"),
    )


@app.command(epilog="Example: loopwright corpus status --json")
def status(corpus: CorpusOpt = None, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Show the head commit and the staged changes that the next commit would make."""
    ws = open_workspace(workspace)
    st = commits.status(ws, corpus)

    def render(console):
        console.print(f"corpus {st['corpus']}: head {st['head'] or '(no commits)'}")
        if not st["staged"]:
            console.print("nothing staged")
            return
        for op in st["staged"]:
            extra = f" on {op['on']}" if "on" in op else (f" from {op['origin']}" if "origin" in op else "")
            console.print(f"  {op['op']:8} {op['doc_id']}{extra}")
        console.print(f"net effect: {_changes_line(st['changes'])}")

    emit(st, json, render)


@app.command(epilog="Example: loopwright corpus reset")
def reset(corpus: CorpusOpt = None, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Discard every staged change (commits are untouched)."""
    ws = open_workspace(workspace)
    n = commits.discard(ws, corpus)
    emit({"discarded": n}, json, lambda c: c.print(f"discarded {n} staged change(s)"))


@app.command(epilog="Example: loopwright corpus commit -m 'Certify FlexPay 2.0'")
def commit(
    message: Annotated[str, typer.Option("--message", "-m", help="What changed and why.")],
    author: Annotated[str | None, typer.Option(help="Author for the commit and its receipt. Default: LOOPWRIGHT_ACTOR or the login name.")] = None,
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Commit the staged changes as the next corpus version, build its index, and write its receipt."""
    ws = open_workspace(workspace)
    made = commits.commit(ws, message, author=author, name=corpus)
    emit(
        made.to_dict(documents=False),
        json,
        lambda c: c.print(f"{made.ref}  sha256:{made.digest[:12]}  {_changes_line(made.changes)}"),
    )


@app.command(epilog="Example: loopwright corpus log")
def log(corpus: CorpusOpt = None, workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List commits, newest first."""
    ws = open_workspace(workspace)
    found = commits.log(ws, corpus)

    def render(console):
        if not found:
            console.print("no commits yet")
            return
        table = Table("commit", "digest", "tree", "author", "created", "docs", "message")
        for c in found:
            table.add_row(c.ref, c.digest[:12], c.tree[:12], c.author, c.artifact.created_at[:19], str(len(c.documents)), c.message)
        console.print(table)

    emit([c.to_dict(documents=False) for c in found], json, render)


@app.command(epilog="Example: loopwright corpus diff 1 2")
def diff(
    a: Annotated[str, typer.Argument(help="From: a version number, corpus/NAME@N, 'head' or a digest prefix.")],
    b: Annotated[str, typer.Argument(help="To: same forms as A.")],
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show documents added, removed, changed, retired, and certification changes between two commits."""
    ws = open_workspace(workspace)
    d = commits.diff(ws, a, b, corpus)

    def render(console):
        if not d:
            console.print("no differences")
        for kind, ids in d.to_dict().items():
            for doc_id in ids:
                console.print(f"{kind:12} {doc_id}")

    emit(d.to_dict(), json, render)


@app.command(epilog="Example: loopwright corpus revert head")
def revert(
    ref: Annotated[str, typer.Argument(help="The commit to undo: a version number, corpus/NAME@N, 'head' or a digest prefix.")],
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message. Default: 'Revert <commit>: <its message>'.")] = None,
    author: Annotated[str | None, typer.Option(help="Author for the commit and its receipt.")] = None,
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Make a new commit that undoes one commit's changes (reverting the head restores its parent exactly)."""
    ws = open_workspace(workspace)
    made = commits.revert(ws, ref, message=message, author=author, name=corpus)
    emit(
        made.to_dict(documents=False),
        json,
        lambda c: c.print(f"{made.ref}  sha256:{made.digest[:12]}  {_changes_line(made.changes)}"),
    )


@app.command(epilog="Example: loopwright corpus show head")
def show(
    ref: Annotated[str, typer.Argument(help="A version number, corpus/NAME@N, 'head' or a digest prefix.")] = "head",
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one commit: parent, author, message, changes, and every document with its metadata."""
    ws = open_workspace(workspace)
    c = commits.get_commit(ws, ref, corpus)

    def render(console):
        console.print(f"[bold]{c.ref}[/bold]  sha256:{c.digest}")
        console.print(f"tree {c.tree}  parent {c.parent[:12] if c.parent else '(none)'}")
        console.print(f"{c.author}, {c.artifact.created_at[:19]}: {c.message}")
        console.print(f"changes: {_changes_line(c.changes)}")
        table = Table("id", "title", "lang", "effective", "retired", "certified", "sensitivity", "audience")
        for doc_id, e in sorted(c.documents.items()):
            m = e.meta
            table.add_row(
                doc_id,
                m.title,
                m.language,
                m.effective_date.isoformat(),
                m.retired_date.isoformat() if m.retired_date else "-",
                "yes" if m.certified else "no",
                m.sensitivity,
                ",".join(m.audience),
            )
        console.print(table)

    emit(c.to_dict(), json, render)


def search(
    query: Annotated[str, typer.Argument(help="The question to retrieve evidence for.")],
    tenant: Annotated[str | None, typer.Option(help="Search as this tenant (scopes and ceiling from the deployed policy).")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Search with this audience scope (repeatable), instead of --tenant.")] = None,
    max_sensitivity: Annotated[str, typer.Option(help="With --scope: public, internal or restricted.")] = "public",
    commit: Annotated[str | None, typer.Option(help="Corpus commit: a version number, corpus/NAME@N, 'head' or a digest prefix. Default: head.")] = None,
    k: Annotated[int, typer.Option(help="How many ranked chunks to cite from.")] = 5,
    as_of: Annotated[str | None, typer.Option(help="Judge freshness on this day, YYYY-MM-DD. Default: today.")] = None,
    corpus: CorpusOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Retrieve minimal cited spans for QUERY, filtered by scope, certification and freshness."""
    from loopwright.corpus.retrieval import Retriever

    if tenant is None and not scope:
        raise InvalidInput("say who is asking: --tenant NAME, or --scope SCOPE", hint="e.g. --tenant larkspur-retail")
    ws = open_workspace(workspace)
    retriever = Retriever(ws)
    c = retriever.commit(commit, corpus) if commit else retriever.commit(None, corpus)
    result = retriever.search(
        query,
        commit=c,
        tenant=tenant,
        scopes=scope,
        max_sensitivity=max_sensitivity if scope else None,
        k=k,
        as_of=_date(as_of, "--as-of"),
    )

    def render(console):
        console.print(f"{result.commit_ref} ({result.commit[:12]})  scopes {','.join(result.scopes)} <= {result.max_sensitivity}  as of {result.as_of}")
        verdict = "DECLINE" if result.decline else "answer"
        console.print(f"[bold]{result.status}[/bold] -> {verdict}: {result.reason}")
        for s in result.spans:
            console.print(f"[{s.rank}] {s.doc_id} [{s.start}:{s.end}] score {s.score:.4f} rel {s.relevance:.2f}  {s.context.splitlines()[0]}")
            console.print(f"    {' '.join(s.text.split())}")
        for s in result.stale_evidence:
            console.print(f"(stale) {s.doc_id} [{s.start}:{s.end}] {s.stale}: {' '.join(s.text.split())}")
        console.print(f"fingerprint {result.fingerprint}")

    emit(result.to_dict(), json, render)


def register(root: typer.Typer) -> None:
    """Attach `corpus ...` and the top-level `search` to the root app."""
    root.add_typer(app, name="corpus")
    root.command("search", epilog='Example: loopwright search "What is the FlexPay late fee?" --tenant larkspur-retail')(search)
