"""Clients keep their country and contact (imported client lists)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COLUMNS = [
    ("country", 2),
    ("contact_email", 254),
    ("contact_first_name", 100),
    ("contact_last_name", 100),
    ("contact_locale", 10),
]


# Plain ALTER TABLE on both databases (SQLite adds and drops a column in place since
# 3.35): a batch would copy the clients table, which other tables' keys point at.


def upgrade() -> None:
    for name, length in _COLUMNS:
        op.add_column(
            "clients", sa.Column(name, sa.String(length=length), server_default="", nullable=False)
        )


def downgrade() -> None:
    for name, _length in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE clients DROP COLUMN {name}")
