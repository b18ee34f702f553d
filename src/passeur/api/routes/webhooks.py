"""Partner webhook subscriptions: where the partner's software hears of events (which
types, which clients), a sample event on demand, and each subscription's last deliveries.

The signing secret is write-only like every secret: answered once, on the add, and only
when passeur made it (a secret the caller gave is never echoed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam, Page, position, position_token
from passeur.api.routes.common import Done, Input, Instant, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.events import DeliveryState, EventType, Subscription
from passeur.services import webhook_deliveries
from passeur.services import webhook_subscriptions as webhooks

router = APIRouter(tags=["webhooks"])
READ = requires("webhooks:read")
WRITE = requires("webhooks:write")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    event_types: list[EventType] = Field(description="Empty: every type.")
    client_ids: list[int] = Field(description="Empty: every client.")
    active: bool = Field(description="False once the endpoint answered 410 Gone.")
    disabled_reason: str
    max_concurrent: int
    paused_until: Instant | None = Field(description="The endpoint asked to wait until then.")
    created_at: Instant


class SubscriptionIn(Input):
    url: str = Field(max_length=2000, description="Your endpoint, https://.")
    event_types: list[EventType] = Field(default_factory=list, max_length=20)
    client_ids: list[RowId] = Field(default_factory=list, max_length=1000)
    secret: str = Field(
        default="",
        max_length=200,
        description="A Standard Webhooks secret (whsec_…); passeur makes one when empty.",
    )
    max_concurrent: int = Field(default=1, ge=1, le=4, description="Events in flight at once.")


class SubscriptionMade(SubscriptionOut):
    signing_secret: str | None = Field(
        description="The secret passeur made, shown this once (null when you gave one)."
    )


class TestOut(BaseModel):
    ok: bool = Field(description="The endpoint accepted the sample event (2xx).")
    message: str


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str = Field(description="The event's `webhook-id`, stable across retries.")
    event_type: EventType
    client_id: int | None
    state: DeliveryState
    attempts: int
    last_error: str
    created_at: Instant
    due_at: Instant | None
    delivered_at: Instant | None


class Deliveries(BaseModel):
    items: list[DeliveryOut] = Field(description="Up to the last ten, newest first.")


def out(s: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(_fields(s))


def _fields(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "url": s.url,
        "event_types": sorted(s.event_types),
        "client_ids": sorted(s.client_ids),
        "active": s.active,
        "disabled_reason": s.disabled_reason,
        "max_concurrent": s.max_concurrent,
        "paused_until": s.paused_until,
        "created_at": s.created_at,
    }


@router.get("/webhooks", response_model=Page[SubscriptionOut])
def list_subscriptions(
    request: Request,
    c: ApiCaller = Depends(READ),
    cursor: CursorParam = "",
    limit: LimitParam = 50,
) -> Page[SubscriptionOut]:
    """The partner's webhook subscriptions, oldest first."""
    found = webhooks.list_subscriptions(the_app(request), c.partner_id, actor=c.actor())
    at = position(cursor)
    shown = found[at : at + limit]
    more = at + len(shown) < len(found)
    return Page(
        items=[out(s) for s in shown],
        next_cursor=position_token(at + len(shown)) if more else None,
    )


@router.post("/webhooks", response_model=SubscriptionMade, status_code=201)
def add(body: SubscriptionIn, request: Request, c: ApiCaller = Depends(WRITE)) -> SubscriptionMade:
    """Subscribe an endpoint to events. Each event is signed as Standard Webhooks says;
    keep the secret: it is answered here only."""
    made, secret = webhooks.add(
        the_app(request), c.partner_id, body.url,
        event_types=[t.value for t in body.event_types], client_ids=body.client_ids,
        secret=body.secret, max_concurrent=body.max_concurrent, actor=c.actor(),
    )  # fmt: skip
    shown = None if body.secret else secret
    return SubscriptionMade.model_validate({**_fields(made), "signing_secret": shown})


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(
    subscription_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> SubscriptionOut:
    found = webhook_deliveries.of_subscription(
        the_app(request), c.partner_id, subscription_id, actor=c.actor(), last=0
    )
    return out(found.subscription)


@router.delete("/webhooks/{subscription_id}", response_model=Done)
def remove(subscription_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> Done:
    """The subscription goes, with its events not sent yet."""
    webhooks.remove(the_app(request), c.partner_id, subscription_id, actor=c.actor())
    return Done()


@router.post("/webhooks/{subscription_id}/test", response_model=TestOut)
async def test(subscription_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> TestOut:
    """Send a sample event now, signed as every event is; whether the endpoint took it."""
    ok, said = await webhooks.test(the_app(request), c.partner_id, subscription_id, actor=c.actor())
    return TestOut(ok=ok, message=said)


@router.get("/webhooks/{subscription_id}/deliveries", response_model=Deliveries)
def deliveries(
    subscription_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> Deliveries:
    """The subscription's last deliveries (up to ten), newest first, with their state."""
    found = webhook_deliveries.of_subscription(
        the_app(request), c.partner_id, subscription_id, actor=c.actor()
    )
    return Deliveries(
        items=[
            DeliveryOut(
                id=d.id,
                webhook_id=d.webhook_id,
                event_type=EventType(d.event_type),
                client_id=d.client_id,
                state=d.state,
                attempts=d.attempts,
                last_error=d.last_error,
                created_at=d.created_at,
                due_at=d.due_at,
                delivered_at=d.delivered_at,
            )
            for d in found.deliveries
        ]
    )
