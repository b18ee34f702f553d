"""indexes for the partner space at practice scale: a firm's deliveries since a time (the
home page's deliveries today), and its exports in one state by id (the filtered ledger)

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_exports_partner_delivered", "exports", ["partner_id", "delivered_at"], unique=False
    )
    op.drop_index("ix_exports_partner_state", table_name="exports")
    op.create_index(
        "ix_exports_partner_state", "exports", ["partner_id", "state", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_exports_partner_state", table_name="exports")
    op.create_index("ix_exports_partner_state", "exports", ["partner_id", "state"], unique=False)
    op.drop_index("ix_exports_partner_delivered", table_name="exports")
