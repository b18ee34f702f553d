"""What became of partner events: each subscription's last deliveries and their status,
for whoever reads the exports (an accountant sees only the events of their clients)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, clients_within
from passeur.domain.errors import NotFound
from passeur.domain.events import DeliveryState, Subscription
from passeur.services.webhook_subscriptions import list_subscriptions
from passeur.storage.db import reading
from passeur.storage.tables import webhook_deliveries

D = webhook_deliveries
LAST = 10  # deliveries shown per subscription


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: str
    event_type: str
    client_id: int | None
    state: DeliveryState
    attempts: int
    last_error: str
    created_at: datetime
    due_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class Recent:
    subscription: Subscription
    deliveries: list[Delivery]

    @property
    def failed(self) -> int:
        return sum(d.state is DeliveryState.FAILED for d in self.deliveries)


def recent(app: App, partner_id: int, *, actor: Actor = OPERATOR, last: int = LAST) -> list[Recent]:
    """Each subscription with its last deliveries, newest first. An actor who reaches
    only some clients sees only those clients' events (and no subscription without one)."""
    within = clients_within(actor, Action.SEE_EXPORTS, partner_id)
    subscriptions = list_subscriptions(app, partner_id)
    out = []
    with reading(app.engine) as conn:
        for s in subscriptions:
            rows = conn.execute(
                select(D)
                .where(D.c.partner_id == partner_id, D.c.subscription_id == s.id)
                .order_by(D.c.id.desc())
                .limit(last if within is None else last * 10)
            )
            shown = [d for d in map(_delivery, rows) if within is None or d.client_id in within]
            if within is None or shown:
                out.append(Recent(s, shown[:last]))
    return out


def of_subscription(
    app: App, partner_id: int, subscription_id: int, *, actor: Actor = OPERATOR, last: int = LAST
) -> Recent:
    """One subscription with its last deliveries, newest first (another partner's: not
    found)."""
    for found in recent(app, partner_id, actor=actor, last=last):
        if found.subscription.id == subscription_id:
            return found
    raise NotFound(f"webhook subscription {subscription_id} does not exist")


def _delivery(r: Any) -> Delivery:
    client = (r.payload.get("data") or {}).get("client_id")
    return Delivery(
        id=r.id,
        webhook_id=r.webhook_id,
        event_type=r.event_type,
        client_id=int(client) if client is not None else None,
        state=DeliveryState(r.state),
        attempts=r.attempts,
        last_error=r.last_error,
        created_at=r.created_at,
        due_at=r.due_at,
        delivered_at=r.delivered_at,
    )
