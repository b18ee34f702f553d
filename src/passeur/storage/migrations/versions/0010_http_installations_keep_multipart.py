"""HTTP installations saved before JSON became the default payload keep multipart

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Only what this migration reads and writes, as it was at this revision.
_installations = sa.table(
    "installations",
    sa.column("id", sa.Integer),
    sa.column("extension", sa.String),
    sa.column("config", sa.JSON),
)


def upgrade() -> None:
    # The payload's default became JSON; a receiver already in use reads what it was sent
    # until now, so installations that never chose keep multipart, written out.
    conn = op.get_bind()
    found = conn.execute(
        sa.select(_installations.c.id, _installations.c.config).where(
            _installations.c.extension == "http"
        )
    ).all()
    for installation_id, config in found:
        if not (config or {}).get("payload"):
            conn.execute(
                _installations.update()
                .where(_installations.c.id == installation_id)
                .values(config={**(config or {}), "payload": "multipart"})
            )


def downgrade() -> None:
    pass  # multipart written out means the same under the old default
