"""Dates as the formats write them, turned into ISO `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import date

from passeur.domain.errors import InvalidInput


def iso_date(text: str | None, what: str) -> str:
    """An XML date or date-time (`2017-11-13`, `2017-11-13+01:00`, `2014-01-05T23:59Z`): the day."""
    cleaned = (text or "").strip()
    day, rest = cleaned[:10], cleaned[10:]
    if len(day) == 10 and (rest == "" or rest[0] in "TZ+-"):
        try:
            return date.fromisoformat(day).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"{what} is {cleaned!r}, which is not a date (YYYY-MM-DD)")


def coda_date(ddmmyy: str, what: str) -> str:
    """A CODA date `DDMMYY`. CODA 2 dates from 2008 on; a pivot keeps old test files sane."""
    if len(ddmmyy) != 6 or not ddmmyy.isdigit():
        raise InvalidInput(f"{what} is {ddmmyy!r}; CODA dates are DDMMYY")
    yy = int(ddmmyy[4:6])
    year = 1900 + yy if yy >= 70 else 2000 + yy
    try:
        return date(year, int(ddmmyy[2:4]), int(ddmmyy[0:2])).isoformat()
    except ValueError:
        raise InvalidInput(f"{what} is {ddmmyy!r}, which is not a date (DDMMYY)") from None
