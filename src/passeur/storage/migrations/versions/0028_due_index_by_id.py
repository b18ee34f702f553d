"""ix_exports_due ordered by (due_at, id), the claim's order

A claim takes the first due exports by (due_at, id). With the index on due_at alone, the
exports released together (a backlog, a backfill: one due time for thousands) tie, and
PostgreSQL read and sorted every one of them for each claim of a few dozen. The index is
partial (open exports only), so it builds quickly even on a big ledger; writes to exports
wait while it does, as upgrades run before the processes restart (docs/deployment.md).

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

DUE = sa.text("state IN ('pending', 'retrying', 'running')")


def upgrade() -> None:
    _due_index(["due_at", "id"])


def downgrade() -> None:
    _due_index(["due_at"])


def _due_index(columns: list[str]) -> None:
    op.drop_index("ix_exports_due", table_name="exports")
    op.create_index(
        "ix_exports_due",
        "exports",
        columns,
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
