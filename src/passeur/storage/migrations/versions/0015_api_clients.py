"""the REST API: API clients, their bearer tokens, rate-limit windows and idempotency keys

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", Id, primary_key=True),
        sa.Column("partner_id", Id, sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_clients"),
        sa.UniqueConstraint("client_key", name="uq_api_clients_client_key"),
    )
    op.create_index("ix_api_clients_partner_id", "api_clients", ["partner_id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("api_client_id", Id, sa.ForeignKey("api_clients.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_api_tokens"),
        sa.UniqueConstraint("id", name="uq_api_tokens_id"),
    )
    op.create_index("ix_api_tokens_api_client_id", "api_tokens", ["api_client_id"])
    op.create_table(
        "api_rates",
        sa.Column("api_client_id", Id, sa.ForeignKey("api_clients.id"), nullable=False),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("api_client_id", name="pk_api_rates"),
    )
    op.create_table(
        "api_idempotency",
        sa.Column("api_client_id", Id, sa.ForeignKey("api_clients.id"), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(200), nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("api_client_id", "key", name="pk_api_idempotency"),
    )
    op.create_index("ix_api_idempotency_created_at", "api_idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_idempotency_created_at", table_name="api_idempotency")
    op.drop_table("api_idempotency")
    op.drop_table("api_rates")
    op.drop_index("ix_api_tokens_api_client_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_api_clients_partner_id", table_name="api_clients")
    op.drop_table("api_clients")
