"""SLO burn-rate alerts: when each fired and resolved, and what the webhook said.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slo_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("objective", sa.String(100), nullable=False, index=True),
        sa.Column("window", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("burn_long", sa.Float, nullable=False),
        sa.Column("burn_short", sa.Float, nullable=False),
        sa.Column("fired_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("delivered", sa.String(200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("slo_alerts")
