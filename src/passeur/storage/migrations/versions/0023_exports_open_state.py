"""exports open by state: the metrics scrape counts open exports along an index alone

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

OPEN = sa.text(
    "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention', 'on_feed', 'fetched')"
)


def upgrade() -> None:
    op.create_index(
        "ix_exports_open_state",
        "exports",
        ["state"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_exports_open_state", table_name="exports")
