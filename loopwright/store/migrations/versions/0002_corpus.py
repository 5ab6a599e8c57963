"""Corpus: no tables of its own.

A corpus commit is a `corpus` artifact (manifest plus documents in the blob
store, receipt in the audit chain); its index and the embedding cache are
derived files under `.loopwright/indexes/` and `.loopwright/embeddings/`;
staged changes are one small file under `.loopwright/corpus/`, replaced
atomically. This revision keeps the chain's numbering stable for the
revisions that build on it.

Revision ID: 0002
Revises: 0001
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
