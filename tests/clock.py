"""The ledger's clock, under the test's control: a lease runs out when the test says so,
not after a sleep that a busy machine may stretch or a fast one may cut short."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from passeur.domain.clock import utcnow

# Every module of the delivery engine that reads the time, each through its own import.
READERS = (
    "passeur.delivery.claims",
    "passeur.delivery.leases",
    "passeur.delivery.outcomes",
    "passeur.delivery.document_statuses",
    "passeur.delivery.retention",
    "passeur.delivery.holds",
    "passeur.services.feeds",
    "passeur.delivery.event_sender",
    "passeur.delivery.events",
    "passeur.monitoring.ledger_metrics",
    "passeur.delivery.notices",
    "passeur.delivery.notice_sender",
    "passeur.delivery.credential_health",
    "passeur.services.notifications",
)


class LedgerClock:
    """Real time shifted by what the test advanced; or, once frozen, still."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return utcnow() + self.offset

    def advance(self, by: timedelta) -> None:
        if self.frozen is not None:
            self.frozen += by
        else:
            self.offset += by

    def freeze(self) -> None:
        """Stop the clock here: from now on only `advance` moves it."""
        self.frozen = self()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> LedgerClock:
        for module in READERS:
            monkeypatch.setattr(f"{module}.utcnow", self)
        return self
