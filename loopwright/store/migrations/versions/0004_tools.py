"""Tools: tool calls with their receipts, and the sample bank's book of record.

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
    op.create_table(
        "bank_customers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(100), nullable=False, index=True),
    )
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(32), sa.ForeignKey("bank_customers.id"), nullable=False, index=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("number_digest", sa.String(64), nullable=False),
        sa.Column("balance_cents", sa.Integer, nullable=False),
    )
    op.create_table(
        "bank_cards",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(32), sa.ForeignKey("bank_customers.id"), nullable=False, index=True),
        sa.Column("last4", sa.String(4), nullable=False, index=True),
        sa.Column("pan_digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("card_id", sa.String(32), sa.ForeignKey("bank_cards.id"), nullable=False, index=True),
        sa.Column("merchant", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("posted_date", sa.String(10), nullable=False),
        sa.Column("statement_date", sa.String(10), nullable=False),
    )
    op.create_table(
        "bank_disputes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("transaction_id", sa.String(32), sa.ForeignKey("bank_transactions.id"), nullable=False, index=True),
        sa.Column("open_key", sa.String(32), nullable=True, unique=True),
        sa.Column("customer_id", sa.String(32), sa.ForeignKey("bank_customers.id"), nullable=False, index=True),
        sa.Column("ticket", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("provisional_credit_cents", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "bank_escalations",
        sa.Column("ticket", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(32), sa.ForeignKey("bank_customers.id"), nullable=False, index=True),
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("bank_escalations", "bank_disputes", "bank_transactions", "bank_cards", "bank_accounts",
                  "bank_customers", "tool_calls"):
        op.drop_table(table)
