"""The sample bank's book of record: customers, accounts, cards, transactions, disputes, escalations.

Revision ID: bank_0001
Revises: (none: the first revision of the bank plugin's own history, table alembic_version_bank)
"""

import sqlalchemy as sa
from alembic import op

revision = "bank_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Workspaces made before the bank became a plugin got these tables from core revision 0004;
    # they are adopted as they are.
    if sa.inspect(op.get_bind()).has_table("bank_customers"):
        return
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
    for table in ("bank_escalations", "bank_disputes", "bank_transactions", "bank_cards", "bank_accounts", "bank_customers"):
        op.drop_table(table)
