"""Backfills: an integration's history, queued through the ledger, resumable

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", _ID, nullable=False),
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("integration_id", _ID, nullable=False),
        sa.Column("since", sa.String(length=10), nullable=False),
        sa.Column("until", sa.String(length=10), nullable=False),
        sa.Column("resend_delivered", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cursor", _ID, server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_backfills_integration_id_integrations"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_backfills_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfills")),
    )
    op.create_index(op.f("ix_backfills_integration_id"), "backfills", ["integration_id"])
    op.create_table(
        "backfill_exports",
        sa.Column("backfill_id", _ID, nullable=False),
        sa.Column("export_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["backfills.id"],
            name=op.f("fk_backfill_exports_backfill_id_backfills"),
        ),
        sa.ForeignKeyConstraint(
            ["export_id"], ["exports.id"], name=op.f("fk_backfill_exports_export_id_exports")
        ),
        sa.PrimaryKeyConstraint("backfill_id", "export_id", name=op.f("pk_backfill_exports")),
    )


def downgrade() -> None:
    op.drop_table("backfill_exports")
    op.drop_index(op.f("ix_backfills_integration_id"), table_name="backfills")
    op.drop_table("backfills")
