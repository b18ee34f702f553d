"""notifications: the outbox of notices to the firm's people, their settings and caps

Revision ID: 0025
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DUE = sa.text("mail_state IN ('waiting', 'sending')")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True),
        sa.Column("partner_id", Id, sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("client_id", Id, nullable=True),
        sa.Column("integration_id", Id, nullable=True),
        sa.Column("installation_id", Id, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=True),
        sa.Column("mail_state", sa.String(20), nullable=False),
        sa.Column("mail_due_at", sa.DateTime, nullable=True),
        sa.Column("mail_key", sa.String(80), nullable=False, server_default=""),
        sa.Column("mail_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(100), nullable=False, server_default=""),
        sa.Column("mail_error", sa.Text, nullable=False, server_default=""),
        sa.Column("sent_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_notifications_user_id_id", "notifications", ["user_id", "id"])
    op.create_index(
        "ix_notifications_mail_due",
        "notifications",
        ["mail_due_at"],
        postgresql_where=DUE,
        sqlite_where=DUE,
    )
    op.create_table(
        "notification_settings",
        sa.Column("partner_id", Id, sa.ForeignKey("partners.id"), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("stale_days", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "notification_overrides",
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("partner_id", Id, sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
    )
    op.create_table(
        "notification_caps",
        sa.Column("user_id", Id, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("subject", sa.String(40), primary_key=True),
        sa.Column("cause", sa.String(40), primary_key=True),
        sa.Column("last_mailed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_caps")
    op.drop_table("notification_overrides")
    op.drop_table("notification_settings")
    op.drop_index("ix_notifications_mail_due", table_name="notifications")
    op.drop_index("ix_notifications_user_id_id", table_name="notifications")
    op.drop_table("notifications")
