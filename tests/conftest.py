"""Shared fixtures: an app on SQLite or on a fresh PostgreSQL database, sample files."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from passeur import samples
from passeur.bootstrap import App, build
from passeur.sandbox.s3_server import S3Sandbox
from passeur.sandbox.sftp_server import SftpSandbox, ThreadedSftpSandbox
from passeur.settings import Settings
from passeur.storage import schema
from passeur.storage.secret_box import new_key

# An administrative connection to the machine's PostgreSQL (trust auth on loopback).
POSTGRES_ADMIN = os.environ.get(
    "PASSEUR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_TEMPLATE = f"passeur_tpl_{os.getpid()}"


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database; each test copies it (CREATE DATABASE … TEMPLATE)."""
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        conn.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
    url = make_url(POSTGRES_ADMIN).set(database=_TEMPLATE)
    engine = create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield _TEMPLATE
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def fresh_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, else empty), dropped afterwards."""
    name = f"passeur_t_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    with fresh_database(postgres_template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Integration tests run on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'passeur.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_keys": new_key(),
        "retry_schedule": "0,1s,2s",
        "retry_jitter": 0.0,
        "lease_seconds": 5.0,
        "poll_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    built = build(make_settings(tmp_path / "data", database_url))
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[App]:
    built = build(make_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'passeur.db'}"))
    schema.upgrade(built.engine)
    yield built
    built.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = samples.shared_data()
    assert found is not None, "the sample documents (../shared/data) are needed by the tests"
    return found


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpSandbox]:
    """A real SFTP server on loopback, on its own thread (the test code is synchronous)."""
    from tests.factories import PASSWORD, USER

    runner = ThreadedSftpSandbox(
        SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD}, events_file=tmp_path / "ev")
    )
    yield runner.start()
    runner.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Sandbox]:
    """One local S3 server (moto) for the whole session: it takes a second to start."""
    sandbox = S3Sandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def s3(s3_server: S3Sandbox) -> Iterator[S3Sandbox]:
    """The session's S3 server, its faults switched off after the test."""
    yield s3_server
    s3_server.faults.restore()


def s3_settings(s3: S3Sandbox, bucket: str = "") -> dict[str, object]:
    """Settings for a blob store in a new bucket of the local S3 server (quick to give up:
    two retries, 5 s)."""
    return {
        "blob_url": f"s3://{bucket or s3.create_bucket()}/blobs",
        "s3_endpoint": s3.url,
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_timeout_seconds": 5.0,
        "s3_retries": 2,
    }


@pytest.fixture
def s3_app(tmp_path: Path, s3: S3Sandbox) -> Iterator[App]:
    """An app on SQLite with its blobs in a new bucket of the local S3 server."""
    settings = make_settings(
        tmp_path / "data", f"sqlite:///{tmp_path / 'passeur.db'}", **s3_settings(s3)
    )
    built = build(settings)
    schema.upgrade(built.engine)
    yield built
    built.close()
