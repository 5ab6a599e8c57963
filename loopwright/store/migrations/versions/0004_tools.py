"""Tools: tool calls with their receipts (a plugin's own tables come from its own revisions).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tool_calls",
        sa.Column("ticket", sa.String(32), primary_key=True),
        sa.Column("tool", sa.String(100), nullable=False, index=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(100), nullable=True, index=True),
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=True),
        sa.Column("args_digest", sa.String(64), nullable=False),
        sa.Column("inputs", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("receipt_seq", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("erased_at", sa.String(32), nullable=True),
        sa.UniqueConstraint("tenant", "tool", "key_digest"),
    )


def downgrade() -> None:
    op.drop_table("tool_calls")
