"""When a notification is mailed, and a sign-in's refresh-token end as the provider says."""

from __future__ import annotations

from datetime import datetime

import pytest

from passeur.connectors.oauth import _refresh_expiry
from passeur.domain.errors import InvalidInput
from passeur.domain.notices import Mode, check_stale_days, mail_due, parse_mode

NOW = datetime(2026, 3, 2, 14, 25, 7)


def test_each_mode_waits_for_its_moment() -> None:
    assert mail_due(Mode.IMMEDIATE, NOW) == NOW
    assert mail_due(Mode.HOURLY, NOW) == datetime(2026, 3, 2, 15, 0)
    assert mail_due(Mode.DAILY, NOW) == datetime(2026, 3, 3, 6, 0)
    assert mail_due(Mode.DAILY, datetime(2026, 3, 2, 5, 59)) == datetime(2026, 3, 2, 6, 0)


@pytest.mark.parametrize("bad", ["", "weekly", "IMMEDIATE"])
def test_unknown_modes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_mode(bad)


def test_days_are_bounded() -> None:
    assert check_stale_days(3) == 3
    for bad in (0, -1, 91):
        with pytest.raises(InvalidInput):
            check_stale_days(bad)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"refresh_token_expires_in": 86400}, 1086400.0),
        ({"x_refresh_token_expires_in": "3600"}, 1003600.0),
        ({}, None),
        ({"refresh_token_expires_in": "soon"}, None),
        ({"refresh_token_expires_in": -5}, None),
        ({"refresh_token_expires_in": float("inf")}, None),
    ],
)
def test_a_refresh_tokens_end_is_read_only_when_sensible(
    body: dict[str, object], expected: float | None
) -> None:
    assert _refresh_expiry(body, 1_000_000.0) == expected
