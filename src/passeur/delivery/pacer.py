"""Pacing per installation, shared by every worker process through the database.

Each extension declares what its target tolerates (concurrent calls, calls per minute and
per day, failing calls per hour). The claim transaction reads and updates the `pacing`
row of every installation it takes work for, under a row lock, so the limits hold however
many workers run on however many machines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from passeur.domain.extensions import Pacing
from passeur.storage.id_lists import id_in
from passeur.storage.tables import exports, installations, pacing


@dataclass(frozen=True)
class Window:
    minute: datetime
    hour: datetime
    day: datetime

    @classmethod
    def at(cls, now: datetime) -> Window:
        minute = now.replace(second=0, microsecond=0)
        return cls(minute, minute.replace(minute=0), minute.replace(hour=0, minute=0))


def ensure_row(conn: Connection, installation_id: int) -> None:
    """Create the installation's pacing row if it is missing (races are harmless)."""
    if conn.dialect.name == "postgresql":
        statement: Any = pg_insert(pacing).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(pacing).on_conflict_do_nothing()
    conn.execute(statement.values(installation_id=installation_id))


_RUNNING = (
    select(exports.c.installation_id, func.count())
    .where(
        exports.c.state == "running",
        exports.c.due_at > bindparam("now"),
        id_in(exports.c.installation_id),
    )
    .group_by(exports.c.installation_id)
)


def running_counts(conn: Connection, ids: list[int], now: datetime) -> dict[int, int]:
    """Tries in flight per installation (a running export whose lease has not run out)."""
    return {r[0]: int(r[1]) for r in conn.execute(_RUNNING, {"ids": ids, "now": now})}


def _room(row: Any, limits: Pacing, running: int, window: Window, now: datetime) -> int:
    """How many tries may start now for one installation."""
    if row is not None and row.blocked_until is not None and row.blocked_until > now:
        return 0
    room = limits.max_concurrent - running
    if limits.per_minute is not None:
        used = row.minute_calls if row is not None and row.minute_start == window.minute else 0
        room = min(room, limits.per_minute - used)
    if limits.per_day is not None:
        used = row.day_calls if row is not None and row.day_start == window.day else 0
        room = min(room, limits.per_day - used)
    budget = limits.errors_per_hour
    in_hour = row is not None and row.hour_start == window.hour
    if budget is not None and in_hour and row.hour_errors >= budget:
        return 0
    return max(0, room)


@dataclass
class Snapshot:
    """The pacing rows and tries in flight, read once per claim."""

    rows: dict[int, Any]
    running: dict[int, int]
    window: Window
    now: datetime

    def room(self, installation_id: int, limits: Pacing) -> int:
        return _room(
            self.rows.get(installation_id),
            limits,
            self.running.get(installation_id, 0),
            self.window,
            self.now,
        )


# Statements on the claim path are built once (building one costs more than running it).
# With each row, its installation's extension and settings, which give its limits: one
# round trip for both. Locked in id order, as every claimer does (no deadlocks).
_LOCKED_ROWS = (
    select(pacing, installations.c.extension, installations.c.config)
    .join(installations, installations.c.id == pacing.c.installation_id)
    .where(id_in(pacing.c.installation_id))
    .order_by(pacing.c.installation_id)
    .with_for_update(of=pacing)
)
_COUNT_CALLS = (
    update(pacing)
    .where(pacing.c.installation_id == bindparam("id"))
    .values(
        minute_start=bindparam("new_minute_start"),
        minute_calls=bindparam("new_minute_calls"),
        day_start=bindparam("new_day_start"),
        day_calls=bindparam("new_day_calls"),
    )
)


def read(conn: Connection, now: datetime, installation_ids: Iterable[int]) -> Snapshot:
    """The pacing rows of these installations under a row lock (each with its
    installation's `extension` and `config`), and their tries in flight counted after the
    lock, so that concurrent claimers agree."""
    ids = sorted(set(installation_ids))  # one lock order everywhere: no deadlocks
    rows = {r.installation_id: r for r in conn.execute(_LOCKED_ROWS, {"ids": ids})}
    missing = sorted(set(ids) - set(rows))
    if missing:  # an installation's first claim
        for installation_id in missing:
            ensure_row(conn, installation_id)
        rows |= {r.installation_id: r for r in conn.execute(_LOCKED_ROWS, {"ids": missing})}
    return Snapshot(rows, running_counts(conn, ids, now), Window.at(now), now)


def record_calls(conn: Connection, snapshot: Snapshot, calls: Mapping[int, int]) -> None:
    """Count the tries just claimed against their minute and day windows."""
    window = snapshot.window
    for installation_id, n in calls.items():
        row = snapshot.rows.get(installation_id)
        minute = (
            row.minute_calls + n if row is not None and row.minute_start == window.minute else n
        )
        day = row.day_calls + n if row is not None and row.day_start == window.day else n
        conn.execute(
            _COUNT_CALLS,
            {
                "id": installation_id,
                "new_minute_start": window.minute,
                "new_minute_calls": minute,
                "new_day_start": window.day,
                "new_day_calls": day,
            },
        )


def record_error(conn: Connection, installation_id: int, limits: Pacing, now: datetime) -> None:
    """Count a failing call; past the hourly budget, stop calling until the hour is over."""
    window = Window.at(now)
    row = conn.execute(
        select(pacing).where(pacing.c.installation_id == installation_id).with_for_update()
    ).first()
    if row is None:
        ensure_row(conn, installation_id)
        row = conn.execute(select(pacing).where(pacing.c.installation_id == installation_id)).one()
    errors = row.hour_errors + 1 if row.hour_start == window.hour else 1
    values: dict[str, Any] = {"hour_start": window.hour, "hour_errors": errors}
    if limits.errors_per_hour is not None and errors >= limits.errors_per_hour:
        values["blocked_until"] = window.hour + timedelta(hours=1)
        values["blocked_reason"] = (
            f"{errors} failing calls this hour: no more calls until "
            f"{window.hour + timedelta(hours=1):%H:%M} UTC (the target locks out after "
            f"{limits.errors_per_hour})"
        )
    conn.execute(update(pacing).where(pacing.c.installation_id == installation_id).values(**values))


def block(conn: Connection, installation_id: int, until: datetime, reason: str) -> None:
    """The target asked us to wait (Retry-After): nobody calls it before `until`."""
    row = conn.execute(
        select(pacing.c.blocked_until).where(pacing.c.installation_id == installation_id)
    ).first()
    if row is None:
        ensure_row(conn, installation_id)
    elif row.blocked_until is not None and row.blocked_until >= until:
        return
    conn.execute(
        update(pacing)
        .where(pacing.c.installation_id == installation_id)
        .values(blocked_until=until, blocked_reason=reason[:500])
    )


def state(conn: Connection, installation_id: int) -> Any:
    return conn.execute(select(pacing).where(pacing.c.installation_id == installation_id)).first()
