"""Configuration templates: a new client's team and integrations

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "configuration_templates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_configuration_templates_partner_id_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configuration_templates")),
        sa.UniqueConstraint(
            "partner_id", "name", name=op.f("uq_configuration_templates_partner_id_name")
        ),
    )
    op.create_index(
        op.f("ix_configuration_templates_partner_id"), "configuration_templates", ["partner_id"]
    )
    op.create_table(
        "template_users",
        sa.Column("template_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("access", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["configuration_templates.id"],
            name=op.f("fk_template_users_template_id_configuration_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_template_users_user_id_users")
        ),
        sa.PrimaryKeyConstraint("template_id", "user_id", name=op.f("pk_template_users")),
    )
    op.create_table(
        "template_integrations",
        sa.Column("template_id", _ID, nullable=False),
        sa.Column("installation_id", _ID, nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["configuration_templates.id"],
            name=op.f("fk_template_integrations_template_id_configuration_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_template_integrations_installation_id_installations"),
        ),
        sa.PrimaryKeyConstraint(
            "template_id", "installation_id", name=op.f("pk_template_integrations")
        ),
    )


def downgrade() -> None:
    op.drop_table("template_integrations")
    op.drop_table("template_users")
    op.drop_index(
        op.f("ix_configuration_templates_partner_id"), table_name="configuration_templates"
    )
    op.drop_table("configuration_templates")
