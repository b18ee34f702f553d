"""call windows: calls per account inside an installation (Exact Online's per-company
limits), shared by every worker

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_windows",
        sa.Column(
            "installation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("next_at", sa.Float(), server_default="0", nullable=False),
        sa.Column("day_start", sa.Float(), server_default="0", nullable=False),
        sa.Column("day_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hour_start", sa.Float(), server_default="0", nullable=False),
        sa.Column("hour_errors", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_call_windows_installation_id_installations"),
        ),
        sa.PrimaryKeyConstraint("installation_id", "account", name=op.f("pk_call_windows")),
    )


def downgrade() -> None:
    op.drop_table("call_windows")
