"""Exports (one document to one integration) and attempts: states and their transitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExportState(StrEnum):
    PENDING = "pending"  # due now or at next_attempt_at
    RUNNING = "running"  # claimed by a worker under a lease
    RETRYING = "retrying"  # a try failed; due again at next_attempt_at
    HELD = "held"  # the integration is paused or its installation switched off
    DELIVERED = "delivered"
    NEEDS_ATTENTION = "needs_attention"  # parked until a person fixes the integration
    FAILED = "failed"  # rejected by the target, or the retry schedule is exhausted
    CANCELLED = "cancelled"  # superseded by a newer version before it was delivered
    # A pulled target's (the API extension's feed): the worker never pushes these.
    ON_FEED = "on_feed"  # waiting for the partner's software to fetch it
    FETCHED = "fetched"  # fetched under a lease (due_at); offered again once it runs out


CLAIMABLE = (ExportState.PENDING, ExportState.RETRYING)
# Not final: still on their way (they keep later exports of an ordered integration waiting).
OPEN = (
    ExportState.PENDING,
    ExportState.RETRYING,
    ExportState.RUNNING,
    ExportState.HELD,
    ExportState.NEEDS_ATTENTION,
    ExportState.ON_FEED,
    ExportState.FETCHED,
)
# On a feed: offered to the partner's software until it acknowledges them.
ON_ITS_FEED = (ExportState.ON_FEED, ExportState.FETCHED)
RETRYABLE_BY_HAND = (ExportState.FAILED, ExportState.NEEDS_ATTENTION, ExportState.RETRYING)


class ErrorClass(StrEnum):
    """What a connector says went wrong; the retry policy decides what to do about it."""

    TRANSIENT = "transient"  # network trouble, 5xx, timeouts: try again later
    RATE_LIMITED = "rate_limited"  # the target asked us to wait
    AUTH = "auth"  # credentials refused or expired: a person must sign in again
    MISCONFIGURED = "misconfigured"  # wrong host key, missing folder rights, bad settings
    REJECTED = "rejected"  # the target refused this document; retrying will not help
    GONE = "gone"  # the target says the endpoint is gone for good (HTTP 410): disconnect
    LEASE_EXPIRED = "lease_expired"  # the worker died or lost its lease mid-try


class AttemptOutcome(StrEnum):
    RUNNING = "running"
    DELIVERED = "delivered"
    ERROR = "error"
    ABANDONED = "abandoned"  # the worker vanished; the lease ran out


@dataclass(frozen=True)
class Export:
    id: int
    partner_id: int
    document_id: int
    integration_id: int
    version: int
    state: ExportState
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None
    last_error_class: ErrorClass | None = None
    last_error: str = ""
    receipt: dict[str, Any] = field(default_factory=dict)
    lease_owner: str = ""

    @property
    def key(self) -> str:
        return export_key(self.document_id, self.integration_id, self.version)


def export_key(document_id: int, integration_id: int, version: int) -> str:
    """The stable key of an export: the same on every try, different for a new version."""
    return f"psr-d{document_id}-i{integration_id}-v{version}"


@dataclass(frozen=True)
class Attempt:
    id: int
    export_id: int
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome
    error_class: ErrorClass | None = None
    message: str = ""
