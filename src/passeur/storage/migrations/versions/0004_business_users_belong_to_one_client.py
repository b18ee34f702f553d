"""business users belong to one client

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A table of its own rather than a column on users: adding a foreign key to users
    # would make SQLite copy the table, which the assignments' foreign keys refuse.
    op.create_table(
        "business_users",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_business_users_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_business_users_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_business_users")),
    )
    with op.batch_alter_table("business_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_business_users_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("business_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_users_client_id"))

    op.drop_table("business_users")
