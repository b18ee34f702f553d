"""Fixtures of the integration tests."""

from __future__ import annotations

import pytest

from tests.clock import LedgerClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> LedgerClock:
    """The delivery engine's clock, advanced by the test (leases, retry delays)."""
    return LedgerClock().install(monkeypatch)
