"""Release notes: what `loopwright promote` decided and why, as a signed `note` artifact.

    note.json        what changed (data and configuration), the lineage of both models, every metric's delta,
                     the paired tests, the decision and its reason
    note.md          the same for people
    signature.json   sha256 of both files, signed with the workspace's Ed25519 key (registry.signing.sign_files)

The note is registered in the transaction that writes the `model.promote`
receipt, which names its digest; `audit verify` checks every note's signature
(`verify_notes`), and `loopwright audit note REF|FOLDER` checks one, in the
store or copied out of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopwright.digests import utc_now
from loopwright.errors import IntegrityError, InvalidInput
from loopwright.registry.artifacts import Artifact, lineage, list_artifacts, read_file, register, resolve
from loopwright.registry.audit import Check
from loopwright.registry.payloads import NoteRegister
from loopwright.registry.signing import SIGNATURE_FILE, sign_files, verify_files
from loopwright.serving.triage import SLOT

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from loopwright.training.promote import Comparison
    from loopwright.workspace import Workspace

FORMAT = "loopwright.note/1"
NOTE_FILES = ("note.json", "note.md")


def _lineage(ws: Workspace, model: Artifact) -> list[dict[str, Any]]:
    return [{"depth": d, "ref": a.ref, "digest": a.digest, "source": a.provenance.get("source"),
             "licence": a.provenance.get("licence")} for d, a in lineage(ws, model.ref)]


def _changes(ws: Workspace, candidate: Artifact, incumbent: Artifact | None) -> dict[str, Any]:
    """Datasets only one model descends from, and the training configuration keys that differ."""
    mine = {x["ref"]: x for x in _lineage(ws, candidate) if x["ref"].startswith("dataset/")}
    theirs = {x["ref"]: x for x in _lineage(ws, incumbent) if x["ref"].startswith("dataset/")} if incumbent else {}
    config = {k: {"incumbent": (incumbent.config.get(k) if incumbent else None), "candidate": v}
              for k, v in sorted(candidate.config.items()) if not incumbent or incumbent.config.get(k) != v}
    return {"data_added": sorted(set(mine) - set(theirs)), "data_dropped": sorted(set(theirs) - set(mine)),
            "config": config}


def _markdown(doc: dict[str, Any]) -> str:
    c = doc["composite"]
    lines = [f"# Release note: {doc['candidate']['ref']} on {doc['slot']}", "",
             f"**Decision: {doc['decision']}.** {doc['reason']}", "",
             f"Candidate `{doc['candidate']['ref']}` (sha256:{doc['candidate']['digest'][:12]}); incumbent "
             + (f"`{doc['incumbent']['ref']}` (sha256:{doc['incumbent']['digest'][:12]})." if doc["incumbent"] else "none."), ""]
    if c:
        lines += [f"Composite {c['incumbent']:.3f} -> {c['candidate']:.3f} ({c['delta']:+.3f}; {c['test']}, "
                  f"{c['resamples']} resamples, interval {c['ci'][0]:+.3f} to {c['ci'][1]:+.3f}, p={c['p']:.3g}) over "
                  f"{doc['items']} held-out items and {doc['goldens']} goldens.", ""]
    changes = doc["changes"]
    lines += ["## What changed", "", f"- data added: {', '.join(changes['data_added']) or 'none'}",
              f"- data dropped: {', '.join(changes['data_dropped']) or 'none'}",
              f"- configuration: {', '.join(changes['config']) or 'unchanged'}", "", "## Data lineage", ""]
    for side in ("candidate", "incumbent"):
        for x in doc["lineage"].get(side) or []:
            lines.append(f"- {side}: {'  ' * x['depth']}{x['ref']} (sha256:{x['digest'][:12]}) {x['source'] or ''}".rstrip())
    if doc["tests"]:
        lines += ["", "## Critical metrics", "", "| metric | incumbent | candidate | allowed drop | test | p | blocks |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {t['metric']} | {t['incumbent']:.3f} | {t['candidate']:.3f} | {t['allowed_drop']:.2f} | {t['test']} | "
                  f"{t['p']:.3g} | {'yes' if t['blocks'] else 'no'} |" for t in doc["tests"]]
    if doc["deltas"]:
        lines += ["", "## Every metric", "", "| metric | incumbent | candidate | delta |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['incumbent']:.3f} | {v['candidate']:.3f} | {v['delta']:+.3f} |" for k, v in doc["deltas"].items()]
    return "\n".join(lines) + "\n"


def register_note(ws: Workspace, comparison: Comparison, *, session: Session, actor: str | None = None) -> Artifact:
    """Write, sign and register the note of `comparison` inside the caller's write transaction."""
    cand = comparison.candidate
    inc = comparison.incumbent
    doc = {
        "format": FORMAT, "slot": SLOT, "decided_at": utc_now(),
        "candidate": {"ref": cand.model.ref, "digest": cand.model.digest, "eval": cand.artifact.ref},
        "incumbent": {"ref": inc.model.ref, "digest": inc.model.digest, "eval": inc.artifact.ref} if inc else None,
        "decision": comparison.decision, "reason": comparison.reason(),
        "changes": _changes(ws, cand.model, inc.model if inc else None),
        "lineage": {"candidate": _lineage(ws, cand.model), "incumbent": _lineage(ws, inc.model) if inc else None},
        **{k: v for k, v in comparison.to_dict().items() if k in ("items", "goldens", "composite", "deltas", "tests")},
    }
    files = {"note.json": (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(),
             "note.md": _markdown(doc).encode()}
    files[SIGNATURE_FILE] = sign_files(ws.signer, files)
    parents = [cand.artifact.digest, cand.model.digest] + ([inc.artifact.digest, inc.model.digest] if inc else [])
    return register(ws, "note", cand.model.name, files, parents=parents, actor=actor, session=session, receipt=NoteRegister,
                    provenance={"source": f"`loopwright promote {cand.model.ref}`", "creator": "loopwright.training.notes"})


def verify_note(ws: Workspace, source: str | Path) -> dict[str, Any]:
    """Check a release note's signature: a `note` artifact (`note/NAME[@N]`) or a folder of its files copied out.

    Raises `IntegrityError` naming what does not match; returns the note's JSON when it does.
    """
    folder = Path(source)
    if folder.is_dir():
        try:
            files = {name: (folder / name).read_bytes() for name in NOTE_FILES}
            signature = (folder / SIGNATURE_FILE).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{folder} is not a release note folder: {exc.strerror}: {exc.filename}") from None
        where = str(folder)
    else:
        artifact = resolve(ws, str(source), kind="note")
        files = {name: read_file(ws, artifact, name) for name in NOTE_FILES}  # blob digests are checked on read
        signature, where = read_file(ws, artifact, SIGNATURE_FILE), artifact.ref
    problem = verify_files(ws.signer, files, signature)
    if problem:
        raise IntegrityError(f"release note {where} fails its signature check: {problem}")
    return json.loads(files["note.json"])


def verify_notes(ws: Workspace) -> Check:
    """`audit verify`'s check: every release note in the registry still matches its signature."""
    problems, notes = [], list_artifacts(ws, kind="note")
    for note in notes:
        try:
            verify_note(ws, note.ref)
        except IntegrityError as exc:
            problems.append(exc.message)
    return Check("notes", len(notes), problems)
