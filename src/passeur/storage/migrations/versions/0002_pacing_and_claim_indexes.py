"""pacing and claim indexes

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pacing",
        sa.Column(
            "installation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("minute_start", sa.DateTime(), nullable=True),
        sa.Column("minute_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("day_start", sa.DateTime(), nullable=True),
        sa.Column("day_calls", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hour_start", sa.DateTime(), nullable=True),
        sa.Column("hour_errors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("blocked_reason", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_pacing_installation_id_installations"),
        ),
        sa.PrimaryKeyConstraint("installation_id", name=op.f("pk_pacing")),
    )
    op.execute("INSERT INTO pacing (installation_id) SELECT id FROM installations")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index("ix_exports_state_updated", ["state", "updated_at"], unique=False)
        batch_op.create_index(
            "ix_exports_open_per_integration",
            ["integration_id", "id"],
            unique=False,
            postgresql_where=sa.text(
                "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention')"
            ),
            sqlite_where=sa.text(
                "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention')"
            ),
        )
        batch_op.create_index(
            "ix_exports_running",
            ["installation_id"],
            unique=False,
            postgresql_where=sa.text("state = 'running'"),
            sqlite_where=sa.text("state = 'running'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_exports_running",
            postgresql_where=sa.text("state = 'running'"),
            sqlite_where=sa.text("state = 'running'"),
        )
        batch_op.drop_index(
            "ix_exports_open_per_integration",
            postgresql_where=sa.text(
                "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention')"
            ),
            sqlite_where=sa.text(
                "state IN ('pending', 'retrying', 'running', 'held', 'needs_attention')"
            ),
        )
        batch_op.drop_index("ix_exports_state_updated")

    op.drop_table("pacing")
