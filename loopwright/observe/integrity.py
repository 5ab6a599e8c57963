"""`audit verify` as one library call: the receipt chain, then every artifact, blob, corpus index, the
deployment table against its receipts and every release note's signature (what the CLI prints and the console shows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopwright.corpus.commits import verify_indexes
from loopwright.registry import audit, receipts
from loopwright.training.notes import verify_notes

if TYPE_CHECKING:
    from loopwright.workspace import Workspace


def verify_workspace(ws: Workspace) -> dict[str, Any]:
    """The chain's report (`receipts.verify_chain`) with `ok` (everything whole), `chain_ok` and each check's report."""
    with ws.session() as s:
        chain = receipts.verify_chain(s, ws)
        checks = [audit.verify_artifacts(s), audit.verify_blobs(ws, s), audit.verify_deployment(s)]
    checks += [verify_indexes(ws), verify_notes(ws)]
    ok = chain.ok and all(c.ok for c in checks)
    return {**chain.to_dict(), "ok": ok, "chain_ok": chain.ok, "checks": [c.to_dict() for c in checks]}
