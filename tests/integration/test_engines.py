"""Engine settings: only worker processes relax commit durability, and only on PostgreSQL;
errors never show the values bound to a statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from passeur.bootstrap import App, build
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
