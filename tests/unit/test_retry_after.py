from datetime import UTC, datetime

import pytest

from passeur.connectors import retry_after

NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Mon, 02 Mar 2026 10:01:30 GMT", 90.0),  # IMF-fixdate
        ("Monday, 02-Mar-26 10:00:10 GMT", 10.0),  # obsolete RFC 850 form
        ("Mon Mar  2 10:00:05 2026", 5.0),  # asctime form
        ("Mon, 02 Mar 2026 09:00:00 GMT", 0.0),  # in the past: now
        ("999999999", retry_after.MAX_WAIT),  # capped
    ],
)
def test_both_forms_become_seconds(header: str, seconds: float) -> None:
    assert retry_after.parse(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2026", "²", "٣"])
def test_absent_or_unreadable_means_none(header: str | None) -> None:
    assert retry_after.parse(header, NOW) is None
