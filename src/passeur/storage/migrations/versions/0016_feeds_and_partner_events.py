"""feeds and partner events: an integration's open exports include those on a feed (the
API extension's waiting and fetched items)

Revision ID: 0016
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

_BEFORE = "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention')"
_AFTER = (
    "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention', 'on_feed', 'fetched')"
)


def _open_index(where: str) -> None:
    op.drop_index("ix_exports_open_per_integration", table_name="exports")
    op.create_index(
        "ix_exports_open_per_integration",
        "exports",
        ["integration_id", "id"],
        unique=False,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    _open_index(_AFTER)


def downgrade() -> None:
    _open_index(_BEFORE)
