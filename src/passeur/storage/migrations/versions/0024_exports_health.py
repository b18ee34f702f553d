"""exports by integration and state for a client's health: the client list counts a
page's clients' waiting and failing exports along an index alone

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

HEALTH = sa.text(
    "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention', 'on_feed', "
    "'fetched', 'failed')"
)


def upgrade() -> None:
    op.create_index(
        "ix_exports_health",
        "exports",
        ["integration_id", "state"],
        postgresql_where=HEALTH,
        sqlite_where=HEALTH,
    )


def downgrade() -> None:
    op.drop_index("ix_exports_health", table_name="exports")
