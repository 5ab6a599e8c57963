"""Traces: the calling key's id as a column, so a key without a subject reads only its own traces.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40), nullable=True))
        batch.create_index("ix_traces_key_id", ["key_id"])


def downgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        batch.drop_index("ix_traces_key_id")
        batch.drop_column("key_id")
