"""Only worker processes relax commit durability, and only on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from passeur.bootstrap import build
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
        finally:
            app.close()
