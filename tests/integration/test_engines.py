"""Engine settings: only worker processes relax commit durability, and only on PostgreSQL;
errors never show the values bound to a statement; a pooled connection that died while
idle is replaced before anyone uses it, without a round trip per transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from passeur.bootstrap import App, build
from passeur.storage import db
from passeur.storage.db import make_engine
from tests.conftest import make_settings


def test_worker_commits_do_not_wait_for_the_disk_but_approvals_do(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, postgres_url)
    for worker, expected in ((True, "off"), (False, "on")):
        app = build(settings, worker=worker)
        try:
            with app.engine.connect() as conn:
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == expected
                # Short index reads are never JIT-compiled (a 1 ms count took 110 ms).
                assert conn.execute(text("SHOW jit")).scalar() == "off"
        finally:
            app.close()


def test_a_database_error_does_not_carry_the_values_it_was_given(app: App) -> None:
    """Errors are logged; the values bound to a failing statement (a sealed secret, an
    address) must not ride along in their text."""
    with pytest.raises(DBAPIError) as raised, app.engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "s3cret-value"})
    assert "no_such_table" in str(raised.value)
    assert "s3cret-value" not in str(raised.value)


def _backend_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_that_died_while_idle_is_replaced_at_checkout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    try:
        dead = _backend_of(engine)
        admin = make_engine(postgres_url, pool_size=1)
        with admin.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dead})
        admin.dispose()
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # idle long enough
        # The server closed the pooled connection: the ping at checkout finds it gone,
        # and the statement runs on a new one instead of failing.
        alive = _backend_of(engine)
        assert alive != dead
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        for _ in range(3):
            _backend_of(engine)
        assert pings == []  # no round trip spent on a connection just checked in
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
        _backend_of(engine)
        assert len(pings) == 1
    finally:
        engine.dispose()
