"""partial index for pruning, so that claims on SQLite use ix_exports_due

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FINISHED = sa.text("state IN ('delivered', 'cancelled')")


def upgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_state_updated")
        batch_op.create_index(
            "ix_exports_finished",
            ["updated_at"],
            unique=False,
            postgresql_where=FINISHED,
            sqlite_where=FINISHED,
        )


def downgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_finished", postgresql_where=FINISHED, sqlite_where=FINISHED)
        batch_op.create_index("ix_exports_state_updated", ["state", "updated_at"], unique=False)
