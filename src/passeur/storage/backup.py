"""A consistent copy of a live SQLite database (sqlite3's online backup API): writers go
on meanwhile; the copy is the database as of one moment."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine


def backup_sqlite(engine: Engine, path: Path) -> int:
    """Copy the database behind `engine` to a new file at `path`; the pages copied."""
    database = engine.url.database
    if not database:
        raise ValueError("an in-memory database has no file to back up")
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(path)
    copied = 0

    def count(status: int, remaining: int, total: int) -> None:
        nonlocal copied
        copied = total

    try:
        # 1,024 pages a step: a writer waits a few milliseconds at most between steps.
        source.backup(target, pages=1024, progress=count)
    except BaseException:
        target.close()
        path.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    target.close()
    return copied
