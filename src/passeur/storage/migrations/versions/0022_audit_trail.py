"""The audit trail: append-only, hash-chained per partner, with the head of each chain

Revision ID: 0022
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Updates and deletes are refused by the database itself (defence in depth: whoever can
# drop a trigger can also edit rows, which is what `passeur audit verify` detects).
_PG_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
)
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("seq", _ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("subject_id", _ID, nullable=True),
        sa.Column("client_id", _ID, nullable=True),
        sa.Column("integration_id", _ID, nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_audit_events_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("partner_id", "seq", name=op.f("uq_audit_events_partner_id_seq")),
    )
    op.create_index(
        "ix_audit_events_partner_client", "audit_events", ["partner_id", "client_id", "seq"]
    )
    op.create_index(
        "ix_audit_events_partner_integration",
        "audit_events",
        ["partner_id", "integration_id", "seq"],
    )
    op.create_table(
        "audit_heads",
        sa.Column("partner_id", _ID, nullable=False),
        sa.Column("seq", _ID, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_audit_heads_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_audit_heads")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("audit_heads")
    op.drop_index("ix_audit_events_partner_integration", table_name="audit_events")
    op.drop_index("ix_audit_events_partner_client", table_name="audit_events")
    op.drop_table("audit_events")
