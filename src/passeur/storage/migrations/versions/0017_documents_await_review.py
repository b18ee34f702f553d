"""Documents whose totals do not add up wait for a person before accounting software
books them: the reason, and who marked them reviewed and when

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (as 0013): a batch would copy the documents table,
# which other tables' keys point at.


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("review_reason", sa.String(length=1000), server_default="", nullable=False),
    )
    op.add_column("documents", sa.Column("reviewed_at", sa.DateTime(), nullable=True))
    op.add_column(
        "documents",
        sa.Column("reviewed_by", sa.String(length=255), server_default="", nullable=False),
    )


def downgrade() -> None:
    for name in ("reviewed_by", "reviewed_at", "review_reason"):
        op.execute(f"ALTER TABLE documents DROP COLUMN {name}")
