"""Traces: the conversation id as a column, so a conversation's turns are one indexed query.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        batch.add_column(sa.Column("conversation", sa.String(64), nullable=True))
        batch.create_index("ix_traces_conversation", ["conversation"])


def downgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        batch.drop_index("ix_traces_conversation")
        batch.drop_column("conversation")
