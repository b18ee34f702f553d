"""Waking workers the moment an export is created, without tight polling.

PostgreSQL: the transaction that creates exports sends NOTIFY (`notify`); each worker LISTENs on a
connection of its own. SQLite: `PRAGMA data_version` changes whenever another connection
commits; reading it takes no lock, so a worker can look every few milliseconds for free.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine

log = logging.getLogger("passeur.wakeups")
SQLITE_LOOK_EVERY = 0.01
CHANNEL = "passeur_exports"
# How long the listener waits before it looks whether it should stop: a worker that
# stops (a drain done, a SIGTERM) waits for it, so it is short; a wait costs no query.
LISTEN_LOOK_EVERY = 0.05


def notify(conn: Connection) -> None:
    """Wake listening workers when the transaction commits (PostgreSQL LISTEN/NOTIFY)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {CHANNEL}")


def watch(engine: Engine, wake: Callable[[], None], stop: threading.Event) -> threading.Thread:
    """Start a daemon thread that calls `wake` (from that thread) on every change."""
    target = _listen_postgres if engine.dialect.name == "postgresql" else _watch_sqlite
    thread = threading.Thread(target=target, args=(engine, wake, stop), daemon=True)
    thread.start()
    return thread


def _listen_postgres(engine: Engine, wake: Callable[[], None], stop: threading.Event) -> None:
    import psycopg  # here: a worker on SQLite never needs it

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                wake()  # anything created while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=LISTEN_LOOK_EVERY, stop_after=1):
                        wake()
        except psycopg.Error:
            log.warning("LISTEN connection lost; polling until it is back")
            stop.wait(1.0)


def _watch_sqlite(engine: Engine, wake: Callable[[], None], stop: threading.Event) -> None:
    path = engine.url.database
    if not path or path == ":memory:":
        return
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        seen = None
        while not stop.is_set():
            try:
                version = conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                version = None
            if version != seen:
                seen = version
                wake()
            time.sleep(SQLITE_LOOK_EVERY)
    finally:
        conn.close()


def threadsafe(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> Callable[[], None]:
    def wake() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    return wake
