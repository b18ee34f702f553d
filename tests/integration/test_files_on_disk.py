"""What passeur writes to disk is private to its user: real files, checked by their mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from passeur.bootstrap import build
from passeur.settings import Settings
from passeur.storage import schema


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default, under which files are made readable by everyone (0644)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_the_database_and_its_wal_are_private(
    tmp_path: Path, usual_umask: None
) -> None:
    data = tmp_path / "var"
    app = build(Settings(data_dir=data, database_url="", secret_keys=""))
    try:
        schema.upgrade(app.engine)
        with app.engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM partners"))
            database = data / "passeur.db"
            wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
            assert wal.exists() and shm.exists(), "WAL mode keeps these while connected"
            assert {p.name: mode(p) for p in (database, wal, shm)} == {
                "passeur.db": 0o600,
                "passeur.db-wal": 0o600,
                "passeur.db-shm": 0o600,
            }
    finally:
        app.close()
    assert mode(data) == 0o700
    assert mode(data / "secret.key") == 0o600


def test_an_existing_database_keeps_its_mode(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "var"
    data.mkdir()
    (data / "passeur.db").touch(mode=0o640)
    app = build(Settings(data_dir=data, database_url="", secret_keys=""))
    try:
        schema.upgrade(app.engine)
    finally:
        app.close()
    assert mode(data / "passeur.db") == 0o640
