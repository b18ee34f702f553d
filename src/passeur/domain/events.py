"""Partner events: what a partner's own software can hear of by webhook, and the
subscriptions that say where and which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    EXPORT_DELIVERED = "export.delivered"
    EXPORT_FAILED = "export.failed"
    EXPORT_NEEDS_ATTENTION = "export.needs_attention"
    INTEGRATION_STATUS_CHANGED = "integration.status_changed"
    DOCUMENT_RELEASED = "document.released"


class DeliveryState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused for good, the schedule ran out, or the endpoint is gone


@dataclass(frozen=True)
class Subscription:
    id: int
    partner_id: int
    url: str
    event_types: frozenset[EventType]  # empty: every type
    client_ids: frozenset[int]  # empty: every client
    active: bool
    disabled_reason: str
    created_at: datetime
    max_concurrent: int = 1  # events in flight at once
    paused_until: datetime | None = None  # the endpoint asked us to wait (Retry-After)

    def wants(self, event_type: EventType, client_id: int | None) -> bool:
        if not self.active:
            return False
        if self.event_types and event_type not in self.event_types:
            return False
        return not self.client_ids or client_id is None or client_id in self.client_ids
