"""Pacing per call and per account inside one installation, shared by every worker.

The claim-time pacer (delivery/pacer.py) counts tries per installation. Exact Online
counts *calls*, per company: 60 a minute, 5,000 a day, and locks an app out after 10
failing calls in an hour. One installation serves many companies, and one try makes
several calls, so its connector asks `target.calls` before each call:

* Calls are spaced evenly: each takes the account's next free slot, a minute over the
  limit apart (plus 2 % so that a call that arrives a little late never makes a fixed
  minute hold one too many), and waits for it. The slot is taken in a transaction on
  the account's row (`SELECT … FOR UPDATE` on PostgreSQL, the write lock on SQLite),
  so the spacing holds over every worker on every machine.
* The day's calls are counted; at the limit, no call until the next day.
* Failing calls are counted per hour; once half the target's budget has failed (5 of
  Exact's 10), no call is made until the hour is over, so a lock-out is never reached
  whatever else fails (another app on the same company, a person's own mistakes).
* A call held back raises `Paced` with the time to wait: the export is due again when
  the window resets (not on the retry schedule, and without using up its tries), and
  the installation's other companies are not held (connectors/errors.py).

`time_scale` runs the windows faster (benchmarks only: the stand-in runs its clock as
fast).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from passeur.connectors.errors import Paced
from passeur.domain.extensions import Pacing
from passeur.monitoring.metrics import PACER_WAIT_SECONDS, PACER_WAITS
from passeur.storage.db import transaction
from passeur.storage.tables import call_windows

HEADROOM = 1.02  # slots a little wider than the limit allows: late arrivals stay inside
LONGEST_WAIT = 4  # minutes' worth of queued calls before a try gives up and comes back


@dataclass(frozen=True)
class Windows:
    """The lengths (seconds) of a minute, an hour and a day on the pacer's clock."""

    minute: float
    hour: float
    day: float

    @classmethod
    def scaled(cls, scale: float) -> Windows:
        return cls(60.0 / scale, 3600.0 / scale, 86400.0 / scale)


class CallPacer:
    """`target.calls` for one installation (domain/extensions.CallGate)."""

    def __init__(
        self,
        engine: Engine,
        installation_id: int,
        limits: Pacing,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        extension: str = "",
    ) -> None:
        self.engine = engine
        self.extension = extension  # the metrics' label
        self.installation_id = installation_id
        self.limits = limits
        self.windows = Windows.scaled(time_scale)
        self.clock = clock

    @property
    def spacing(self) -> float:
        if self.limits.per_minute is None:
            return 0.0
        return self.windows.minute / self.limits.per_minute * HEADROOM

    @property
    def error_budget(self) -> int | None:
        """Failing calls allowed in an hour: half the target's lock-out count."""
        budget = self.limits.errors_per_hour
        return None if budget is None else max(1, budget // 2)

    async def call(self, account: str) -> None:
        slot = await asyncio.to_thread(self._take, account)
        wait = slot - self.clock()
        if wait > 0:
            PACER_WAITS.labels(self.extension).inc()
            PACER_WAIT_SECONDS.labels(self.extension).inc(wait)
            await asyncio.sleep(wait)

    async def failed(self, account: str) -> None:
        await asyncio.to_thread(self._count_failure, account)

    def _take(self, account: str) -> float:
        with transaction(self.engine) as conn:
            row = _locked_row(conn, self.installation_id, account)
            now = self.clock()
            values: dict[str, Any] = {}
            budget = self.error_budget
            until = row.hour_start + self.windows.hour
            if budget is not None and until > now and row.hour_errors >= budget:
                raise Paced(
                    f"{row.hour_errors} calls for company {account} failed within the "
                    f"hour: no more calls until {_at(until)}"
                    " UTC, so that the target does not lock the connection out",
                    retry_after=until - now,
                )
            day_start = math.floor(now / self.windows.day) * self.windows.day
            day_calls = row.day_calls if row.day_start == day_start else 0
            if self.limits.per_day is not None and day_calls >= self.limits.per_day:
                reset = day_start + self.windows.day
                raise Paced(
                    f"the {self.limits.per_day} calls a day for company {account} are used "
                    f"up: waiting until {_at(reset)} UTC, when the day's count starts again",
                    retry_after=reset - now,
                )
            slot = max(now, row.next_at)
            if self.spacing and slot - now > LONGEST_WAIT * self.windows.minute:
                raise Paced(
                    f"too many calls are queued for company {account}: trying again once "
                    "they have gone",
                    retry_after=slot - now - LONGEST_WAIT * self.windows.minute / 2,
                )
            values.update(next_at=slot + self.spacing, day_start=day_start, day_calls=day_calls + 1)
            conn.execute(_row_update(self.installation_id, account).values(**values))
            return slot

    def _count_failure(self, account: str) -> None:
        with transaction(self.engine) as conn:
            row = _locked_row(conn, self.installation_id, account)
            now = self.clock()
            if row.hour_start + self.windows.hour > now:
                values = {"hour_errors": row.hour_errors + 1}
            else:
                values = {"hour_start": now, "hour_errors": 1}
            conn.execute(_row_update(self.installation_id, account).values(**values))


def _at(epoch: float) -> str:
    return time.strftime("%H:%M", time.gmtime(epoch))


def _locked_row(conn: Connection, installation_id: int, account: str) -> Any:
    insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(call_windows)
        .values(installation_id=installation_id, account=account)
        .on_conflict_do_nothing()
    )
    return conn.execute(
        select(call_windows)
        .where(
            call_windows.c.installation_id == installation_id,
            call_windows.c.account == account,
        )
        .with_for_update()
    ).one()


def _row_update(installation_id: int, account: str) -> Any:
    return update(call_windows).where(
        call_windows.c.installation_id == installation_id, call_windows.c.account == account
    )
