"""Gateway: API keys, traces, feedback.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("subject", sa.String(100), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "traces",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("ts", sa.String(32), nullable=False, index=True),
        sa.Column("tenant", sa.String(100), nullable=False, index=True),
        sa.Column("subject", sa.String(100), nullable=True, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("deployment_version", sa.Integer, nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("intent", sa.String(50), nullable=True, index=True),
        sa.Column("tier", sa.String(50), nullable=True),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False, index=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trace_id", sa.String(40), sa.ForeignKey("traces.id"), nullable=False, index=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("thumbs", sa.Integer, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("consent", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("feedback", "traces", "api_keys"):
        op.drop_table(table)
