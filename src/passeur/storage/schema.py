"""Bring a database to the latest schema with Alembic (the same migrations on every DB)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


class SchemaNotCurrent(Exception):
    """The database is not at the revision this code needs; the message says what to run."""


def require_current(engine: Engine, *, create_if_empty: bool = False) -> bool:
    """Raise SchemaNotCurrent unless the database is at the head revision.

    `create_if_empty` (the embedded SQLite default): a database with no schema at all is
    created and migrated here, on first use; True is returned then. A database that has a
    schema but an older one is never migrated behind the operator's back: another process
    may still run the code that matches it.
    """
    current, head = current_revision(engine), head_revision(engine)
    if current == head:
        return False
    if current is None and create_if_empty:
        upgrade(engine)
        return True
    if current is not None and not _known(engine, current):
        raise SchemaNotCurrent(
            f"the database is at revision {current}, which this passeur does not know "
            f"(it needs {head}): a newer passeur migrated it; run that version"
        )
    raise SchemaNotCurrent(
        f"the database is at revision {current or 'none (empty)'}, passeur needs {head}: "
        "run `passeur db upgrade`"
    )


def _known(engine: Engine, revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config(engine)).get_revision(revision) is not None
    except CommandError:  # alembic's answer for a revision it has no script for
        return False
