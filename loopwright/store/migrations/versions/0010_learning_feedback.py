"""Feedback for learning: rubric scores, CSAT, a correction and its author; spot-check decisions on curated datasets.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_FEEDBACK = ("rubric", "csat", "correction", "author", "author_role")


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("rubric", sa.Text, nullable=True))
        batch.add_column(sa.Column("csat", sa.Integer, nullable=True))
        batch.add_column(sa.Column("correction", sa.String(50), nullable=True))
        batch.add_column(sa.Column("author", sa.String(200), nullable=True))
        batch.add_column(sa.Column("author_role", sa.String(50), nullable=True))
    op.create_table(
        "dataset_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dataset", sa.String(64), nullable=False, index=True),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("label", sa.String(50), nullable=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("scripted", sa.Boolean, nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dataset_reviews")
    with op.batch_alter_table("feedback") as batch:
        for column in _FEEDBACK:
            batch.drop_column(column)
