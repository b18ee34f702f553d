"""Engine creation: SQLite (WAL, one writer via BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError


def make_engine(url: str, *, pool_size: int = 5, relaxed_commit: bool = False) -> Engine:
    """`relaxed_commit` (PostgreSQL): commits do not wait for the WAL flush. Only for a
    worker process, whose every write can be lost in a database crash without losing an
    export: a lost claim is claimed again, a lost outcome is delivered again (delivery is
    idempotent). Approvals, which create exports, always commit durably.

    JIT compilation is off: passeur's queries read a few rows along an index, but a
    grouped count over a big firm's exports is estimated costly enough for PostgreSQL to
    compile it, which took 110 ms for a query that runs in 1 ms (docs/decisions.md)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    settings = "-c jit=off" + (" -c synchronous_commit=off" if relaxed_commit else "")
    options = {"options": settings}
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args=options,
        hide_parameters=True,  # errors get logged: keep the values (sealed secrets…) out
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A pooled connection idle for PING_AFTER_IDLE or more is pinged when checked out,
    and replaced when the ping fails (the server restarted, a firewall dropped it), so
    that a request after a quiet spell never meets a dead connection. One used moments
    ago is not: SQLAlchemy's `pool_pre_ping` pings at every checkout, a round trip per
    transaction (a tenth of an approval's time, two per worker trip), and a connection
    that breaks anyway in between fails its transaction, which is retried or reported
    like any other failure; the pool then drops every connection made before it."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces it and checks out another
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc


PING_AFTER_IDLE = 1.0  # seconds a pooled connection may sit unused and not be pinged
_IDLE_SINCE = "passeur_idle_since"


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        _create_private(Path(path))
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        hide_parameters=True,  # errors get logged: keep the values (sealed secrets…) out
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy drive transactions ourselves so that BEGIN IMMEDIATE takes the
        # write lock up front (no lock-upgrade deadlocks between claimers).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers take no lock (WAL lets them run beside the one writer).
        readonly = conn.get_execution_options().get("passeur_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _create_private(path: Path) -> None:
    """Create the database file, empty, with mode 0600 (its folder 0700) before SQLite
    opens it: SQLite would make it 0644, and it gives the WAL and shared-memory files the
    database file's own mode. The database holds every client's documents' metadata."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):  # an existing database keeps the mode it was given
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# SQLite has one writer: threads of one process queue on a lock instead of SQLite's busy
# handler, which sleeps in growing steps and wastes most of the time under contention.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One short write transaction; commits on success, rolls back on any error."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    lock = _SQLITE_WRITERS.setdefault(engine, threading.Lock())
    with lock, engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite it does not take the write lock."""
    with engine.connect() as conn:
        conn = conn.execution_options(passeur_readonly=True)
        with conn.begin():
            yield conn


@contextmanager
def separate_reads(engine: Engine) -> Iterator[Connection]:
    """Reads that need no common snapshot. On PostgreSQL each runs in autocommit, which
    saves the BEGIN and COMMIT round trips of a transaction; on SQLite they share one
    read transaction (which takes no lock)."""
    if engine.dialect.name == "sqlite":
        with reading(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose every statement sees the same moment (REPEATABLE
    READ on PostgreSQL; a SQLite read transaction is one already): for checks that read a
    table twice, such as an audit chain and its head while changes are appended."""
    with engine.connect() as conn:
        conn = conn.execution_options(passeur_readonly=True)
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
