"""Tools: pending confirmations, each bound to one tool call (tool, arguments, customer, conversation).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tool_confirmations",
        sa.Column("token_digest", sa.String(64), primary_key=True),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("arguments", sa.Text, nullable=True),
        sa.Column("args_digest", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(100), nullable=True, index=True),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tool_confirmations")
