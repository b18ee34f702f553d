"""A database that is not set up: created on first use when it is the embedded default,
otherwise one line saying what to run (never a traceback, never a worker loop)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from passeur.storage import schema
from passeur.storage.db import make_engine
from tests.acceptance.terminal import clean_environment, passeur
from tests.conftest import fresh_database

NEEDS_UPGRADE = "run `passeur db upgrade`"
# Each refuses to start on a database that is not current (serve before it binds).
STARTERS = [("partners", "list"), ("worker",), ("worker", "--drain"), ("serve", "--port", "0")]


def test_the_embedded_database_is_created_on_first_use(tmp_path: Path) -> None:
    env = clean_environment()  # the default data folder: var, in the folder passeur runs in
    first = passeur("-v", "partners", "list", cwd=tmp_path, env=env)
    assert first.code == 0, first.err
    data = tmp_path / "var"
    assert f"data folder {data}" in first.err and f"{data / 'passeur.db'}" in first.err
    assert "created the database" in first.err and "Traceback" not in first.err
    engine = make_engine(f"sqlite:///{data / 'passeur.db'}")
    assert schema.current_revision(engine) == schema.head_revision(engine)
    engine.dispose()
    again = passeur("partners", "create", "Firm", cwd=tmp_path, env=env)
    assert again.code == 0 and "created" not in again.err


def test_an_embedded_database_behind_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_environment()
    assert passeur("db", "upgrade", cwd=tmp_path, env=env).code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'passeur.db'}")
    head = schema.head_revision(engine)
    schema.downgrade(engine, "-1")
    behind = schema.current_revision(engine)
    _every_starter_refuses(tmp_path, env, f"{behind}, passeur needs {head}")
    assert schema.current_revision(engine) == behind, "nothing migrated behind the operator"
    assert passeur("db", "upgrade", cwd=tmp_path, env=env).code == 0
    assert passeur("partners", "list", cwd=tmp_path, env=env).code == 0
    engine.dispose()


def _every_starter_refuses(folder: Path, env: dict[str, str], revisions: str) -> None:
    for args in STARTERS:
        ran = passeur(*args, cwd=folder, env=env)
        assert ran.code == 4, (args, ran.err)
        assert ran.error_lines == [
            f"error: the database is at revision {revisions}: {NEEDS_UPGRADE}"
        ], args


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database with no schema at all, made for this test."""
    with fresh_database() as url:
        yield url


def test_postgresql_is_never_created_behind_the_operator(
    tmp_path: Path, empty_postgres: str
) -> None:
    env = clean_environment(PASSEUR_DATABASE_URL=empty_postgres)
    engine = make_engine(empty_postgres)
    head = schema.head_revision(engine)
    _every_starter_refuses(tmp_path, env, f"none (empty), passeur needs {head}")
    assert schema.current_revision(engine) is None
    upgraded = passeur("-v", "db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.code == 0 and f"database at revision {head}" in upgraded.out
    assert "database postgresql+psycopg://" in upgraded.err  # where the data lives (-v)
    assert passeur("partners", "create", "Firm", cwd=tmp_path, env=env).code == 0
    schema.downgrade(engine, "-1")
    behind = schema.current_revision(engine)
    drained = passeur("worker", "--drain", cwd=tmp_path, env=env)
    assert drained.code == 4 and drained.error_lines == [
        f"error: the database is at revision {behind}, passeur needs {head}: {NEEDS_UPGRADE}"
    ]
    engine.dispose()


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:1/passeur"
    ran = passeur(
        "worker", "--drain", cwd=tmp_path, env=clean_environment(PASSEUR_DATABASE_URL=url)
    )
    assert ran.code == 4 and len(ran.error_lines) == 1, ran.err
    assert "cannot use the database" in ran.err and "hunter2" not in ran.err


def test_help_says_where_data_lives_and_what_exit_codes_mean(tmp_path: Path) -> None:
    shown = " ".join(passeur("--help", cwd=tmp_path, env=clean_environment()).out.split())
    assert "PASSEUR_DATA_DIR (default: var" in shown
    for code in ("0 done", "1 a check", "2 refused", "3 the target", "4 the database"):
        assert code in shown


def test_a_database_newer_than_passeur_says_so(tmp_path: Path) -> None:
    env = clean_environment()
    assert passeur("db", "upgrade", cwd=tmp_path, env=env).code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'passeur.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    used = passeur("partners", "list", cwd=tmp_path, env=env)
    assert used.code == 4 and len(used.error_lines) == 1
    assert "revision f00d, which this passeur does not know" in used.err
    upgraded = passeur("db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.code == 4 and len(upgraded.error_lines) == 1, upgraded.err
    assert "cannot upgrade the database" in upgraded.err and "f00d" in upgraded.err


def test_verbose_names_the_demos_own_folder(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the demo stops at once: its port is taken
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        ran = passeur(
            "-v", "demo", "--dir", "demo", "--port", port, cwd=tmp_path, env=clean_environment()
        )
    assert ran.code == 2
    assert (
        ran.error_lines[0] == f"passeur: the demo's data folder {tmp_path / 'demo'} (emptied first)"
    )
