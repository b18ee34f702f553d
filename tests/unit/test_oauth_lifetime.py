"""A token endpoint's expires_in: absent is the default, nonsense is its error."""

from __future__ import annotations

import pytest

from passeur.connectors import oauth
from passeur.connectors.errors import TransientError

URL = "https://login.example/token?client_secret=hidden"


@pytest.mark.parametrize(("raw", "seconds"), [(None, oauth.DEFAULT_LIFETIME), (3600, 3600.0),
                                              ("599", 599.0)])  # fmt: skip
def test_a_lifetime_is_read_as_seconds(raw: object, seconds: float) -> None:
    assert oauth._lifetime(raw, URL) == seconds


@pytest.mark.parametrize("raw", ["nan", "inf", "-5", 0])
def test_a_lifetime_that_would_refresh_always_or_never_is_refused(raw: object) -> None:
    with pytest.raises(TransientError) as caught:
        oauth._lifetime(raw, URL)
    assert "hidden" not in str(caught.value)
