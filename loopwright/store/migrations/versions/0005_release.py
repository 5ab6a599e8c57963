"""Release plane: releases and feature flags.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slot", sa.String(100), nullable=False, index=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("artifacts.id"), nullable=False),
        sa.Column("baseline_id", sa.Integer, sa.ForeignKey("artifacts.id"), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("skip_gate", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("step_started_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
        sa.Column("gate", sa.Text, nullable=False),
        sa.Column("analysis", sa.Text, nullable=False),
    )
    op.create_table(
        "flags",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("percentage", sa.Float, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("flags")
    op.drop_table("releases")
