"""indexes for the exports ledger's pages (keyset on id, newest first)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exports_ledger", "exports", ["partner_id", "id"], unique=False)
    op.create_index(
        "ix_exports_ledger_integration",
        "exports",
        ["partner_id", "integration_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_exports_ledger_integration", table_name="exports")
    op.drop_index("ix_exports_ledger", table_name="exports")
