"""A client's integrations at a glance: the client list's health column.

The worst news wins: an integration or an export that needs a person, then exports still
on their way, then "all delivered". A client with no integration has nothing to deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from passeur.domain.exports import ExportState


class Health(StrEnum):
    # Values differ from every other state's: the UI's labels are keyed by value.
    NEEDS_ATTENTION = "attention"
    WAITING = "waiting"
    DELIVERED = "all_delivered"
    NO_INTEGRATIONS = "no_integrations"


# Exports still on their way: the system moves them on without a person.
WAITING_STATES = (
    ExportState.PENDING,
    ExportState.RETRYING,
    ExportState.RUNNING,
    ExportState.HELD,
    ExportState.ON_FEED,
    ExportState.FETCHED,
)
# Exports that stay where they are until a person retries or re-sends them.
ATTENTION_STATES = (ExportState.FAILED, ExportState.NEEDS_ATTENTION)


@dataclass(frozen=True)
class ClientHealth:
    """The counts behind a client's health (disconnected integrations are not counted)."""

    integrations: int = 0
    integrations_needing_attention: int = 0
    failing: int = 0  # exports failed or needing attention
    waiting: int = 0  # exports on their way

    @property
    def health(self) -> Health:
        """The list computes the same in SQL, to filter by it (tests keep them in step)."""
        if self.integrations_needing_attention or self.failing:
            return Health.NEEDS_ATTENTION
        if self.waiting:
            return Health.WAITING
        if self.integrations:
            return Health.DELIVERED
        return Health.NO_INTEGRATIONS
