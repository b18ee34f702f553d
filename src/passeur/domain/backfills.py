"""A backfill's rules: the days it covers, its states and its progress (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from passeur.domain.errors import InvalidInput

LONGEST = timedelta(days=366)
RUNNING, STOPPED, FINISHED = "running", "stopped", "finished"


@dataclass(frozen=True)
class Progress:
    id: int
    integration_id: int
    since: str
    until: str
    state: str  # running, stopped, finished
    total: int
    queued: int
    delivered: int
    failed: int  # failed, or waiting for a person
    waiting: int  # on their way

    @property
    def done(self) -> bool:
        """Finished queueing, and nothing of it is on its way any more."""
        return self.state == FINISHED and self.waiting == 0


def day_range(since: str, until: str) -> tuple[datetime, datetime]:
    """[the start of `since`, the end of `until`) in UTC; InvalidInput for a bad range."""
    first, last = _day(since, "since"), _day(until, "until")
    if last < first:
        raise InvalidInput("the until date is before the since date", field="until")
    if last - first >= LONGEST:
        raise InvalidInput("a backfill covers at most a year; split it", field="until")
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-03-31", field=name) from None
