"""Worker processes for the benchmarks, started like an operator starts them, and waited
for until they are ready, measured from outside rather than slept for.

Ready means: on PostgreSQL, the process's LISTEN connection is up (PostgreSQL's
pg_stat_activity shows one backend per worker, in the benchmark's database, whose last
statement was a LISTEN), so an approval's NOTIFY reaches it; on SQLite, the process has the
database file open (its change watcher looks at it every few milliseconds).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.harness import POSTGRES_ADMIN
from passeur.bootstrap import App


def worker_env(app: App, **extra: str) -> dict[str, str]:
    return {**os.environ, **app.settings.as_environment(), **extra}


def spawn(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "passeur", "worker", "--concurrency", str(concurrency)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (and asyncpg) take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backends(database: str, query_like: str, state: str = "%") -> int:
    """Backends connected to `database` whose last statement is like `query_like`."""
    with psycopg.connect(libpq_url(POSTGRES_ADMIN), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE %s"
            " AND coalesce(state, '') LIKE %s",
            (database, query_like, state),
        ).fetchone()
    return int(row[0]) if row else 0


def wait_ready(
    processes: list[subprocess.Popen[bytes]],
    database_url: str,
    *,
    query_like: str = "LISTEN %",
    state: str = "%",
    timeout: float = 60,
) -> float:
    """Poll until every process is ready; the seconds it took. Raises if one exits or the
    deadline passes."""
    start = time.monotonic()
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    while True:
        if sqlite:
            ready = sum(_has_open(p.pid, Path(url.database or "")) for p in processes)
        else:
            ready = backends(url.database or "", query_like, state)
        if ready >= len(processes):
            return time.monotonic() - start
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a worker exited before it was ready")
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"{ready} of {len(processes)} workers ready after {timeout} s")
        time.sleep(0.01)


def _has_open(pid: int, path: Path) -> bool:
    wanted = str(path.resolve())
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == wanted:
                    return True
    return False


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(30)


@contextlib.contextmanager
def running_workers(
    app: App, n: int, *, concurrency: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(app, PASSEUR_WORKER_BATCH=str(concurrency))
    workers = [spawn(env, concurrency) for _ in range(n)]
    try:
        wait_ready(workers, app.engine.url.render_as_string(hide_password=False))
        yield workers
    finally:
        stop(workers)
