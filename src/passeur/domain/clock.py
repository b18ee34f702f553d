"""Time in one convention everywhere: naive datetimes in UTC (stored the same on every DB)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
