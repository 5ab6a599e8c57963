"""Data-subject requests opened in chat or by an operator: kind, status, due date, approval, the export.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False, index=True),
        sa.Column("status", sa.String(24), nullable=False, index=True),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("ticket", sa.String(32), nullable=True),
        sa.Column("opened_at", sa.String(32), nullable=False),
        sa.Column("due_at", sa.String(32), nullable=False),
        sa.Column("approved_at", sa.String(32), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("completed_at", sa.String(32), nullable=True),
        sa.Column("export_digest", sa.String(64), nullable=True),
        sa.Column("receipt_seq", sa.Integer, nullable=False),
        sa.Column("completion_seq", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("subject_requests")
