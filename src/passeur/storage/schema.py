"""Bring a database to the latest schema with Alembic (the same migrations on every DB).

Every command checks the schema before it starts: that check reads the stamped revision
and the migration files' own `revision` lines, and imports Alembic (about a third of a
command's start-up) only when the database is not current or the files are not a plain
chain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_DECLARED = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.*?)\s*$", re.MULTILINE)
_PLAIN = re.compile(r"""^(?:None|["'](\w+)["'])$""")


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = _config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = _config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

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
    head = declared_head()
    if head is not None and _stamped(engine) == head:
        return False  # current: Alembic need not be loaded
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


def declared_head(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The head revision, read from the migration files' `revision` and `down_revision`
    lines without Alembic; None when they are not a plain chain with one head (a merge, a
    computed value): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("[!_]*.py"):
        found = dict(_DECLARED.findall(script.read_text(encoding="utf-8")))
        if set(found) != {"revision", "down_revision"}:
            return None
        revision, parent = (_PLAIN.match(found[name]) for name in ("revision", "down_revision"))
        if revision is None or revision.group(1) is None or parent is None:
            return None
        revisions.add(revision.group(1))
        if parent.group(1) is not None:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stamped(engine: Engine) -> str | None:
    """The one revision the database is stamped with, read without Alembic (None: none,
    or several)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return stamped[0] if len(stamped) == 1 else None


def _known(engine: Engine, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(_config(engine)).get_revision(revision) is not None
    except CommandError:  # alembic's answer for a revision it has no script for
        return False
