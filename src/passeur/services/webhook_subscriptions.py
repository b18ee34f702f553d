"""Partner events by webhook: a partner's subscriptions (where, which event types, which
clients), and a test that sends a sample event.

Events are signed exactly as the HTTP extension signs (Standard Webhooks), with a secret
passeur makes (shown once, when the subscription is added) or the partner gives; it is
stored sealed and never shown again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from passeur.bootstrap import App
from passeur.connectors.http.extension import EXTENSION as HTTP
from passeur.connectors.http.signing import check_secret, new_secret
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.delivery.event_sender import Job, owner, send
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change
from passeur.domain.clock import utcnow
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.events import EventType, Subscription
from passeur.domain.fields import clean_values
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.tables import clients, webhook_deliveries, webhook_subscriptions

S = webhook_subscriptions
MIN_CONCURRENT, MAX_CONCURRENT = 1, 4  # a partner's endpoint is one small server, often
_URL = next(f for f in HTTP.install_fields if f.name == "base_url")


def add(
    app: App,
    partner_id: int,
    url: str,
    *,
    event_types: Iterable[str] = (),
    client_ids: Iterable[int] = (),
    secret: str = "",
    max_concurrent: int = 1,
    allow_plain_http: bool = False,
    actor: Actor = OPERATOR,
) -> tuple[Subscription, str]:
    """A new subscription and its signing secret (made when none is given): the only
    time the secret is returned."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    if not MIN_CONCURRENT <= max_concurrent <= MAX_CONCURRENT:
        raise InvalidInput(
            f"events in flight at once must be {MIN_CONCURRENT} to {MAX_CONCURRENT}",
            field="max_concurrent",
        )
    try:
        cleaned = str(clean_values((_URL,), {"base_url": url})["base_url"])
    except InvalidInput as exc:  # the HTTP extension's words, under this form's field
        raise InvalidInput(str(exc), field="url") from None
    if cleaned.lower().startswith("http://") and not allow_plain_http:
        raise InvalidInput(f"{cleaned} is not encrypted; use https://", field="url")
    types = _event_types(event_types)
    secret = secret or new_secret()
    check_secret(secret)
    now = utcnow()
    with transaction(app.engine) as conn:
        wanted = _clients(conn, partner_id, client_ids)
        made = conn.execute(
            insert(S).values(
                partner_id=partner_id, url=cleaned, secret="", event_types=sorted(types),
                client_ids=sorted(wanted), active=True, max_concurrent=max_concurrent,
                created_at=now, updated_at=now,
            )
        ).inserted_primary_key  # fmt: skip
        assert made is not None
        new_id = made[0]
        sealed = app.secrets.seal({"secret": secret}, owner(int(new_id)))
        conn.execute(S.update().where(S.c.id == new_id).values(secret=sealed))
        made = _subscription(_row(conn, partner_id, int(new_id)))
        audit.record(conn, partner_id, actor, Change("webhook.create", made.id, {}, _state(made)))
        return made, secret


def list_subscriptions(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Subscription]:
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        query = select(S).where(S.c.partner_id == partner_id).order_by(S.c.id)
        return [_subscription(r) for r in conn.execute(query)]


def remove(app: App, partner_id: int, subscription_id: int, *, actor: Actor = OPERATOR) -> None:
    """The subscription goes, with its events not sent yet."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with transaction(app.engine) as conn:
        gone = _subscription(_row(conn, partner_id, subscription_id))
        change = Change("webhook.delete", subscription_id, _state(gone), {})
        audit.record(conn, partner_id, actor, change)
        conn.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.subscription_id == subscription_id
            )
        )
        conn.execute(delete(S).where(S.c.id == subscription_id))


async def test(
    app: App, partner_id: int, subscription_id: int, *, actor: Actor = OPERATOR
) -> tuple[bool, str]:
    """Send a sample event now, signed as every event is; (accepted, what was answered)."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        row = _row(conn, partner_id, subscription_id)
    secret = app.secrets.open(row.secret, owner(row.id))["secret"]
    webhook_id = f"evt_test_{int(time.time() * 1000)}_{row.id}"
    sample = {
        "data": {"sample": True},
        "id": webhook_id,
        "timestamp": utcnow().isoformat(timespec="seconds") + "Z",
        "type": "export.delivered",
    }
    body = json.dumps(sample, separators=(",", ":")).encode()
    outbound = Outbound(Guard(app.settings.network_policy), timeout=30.0)
    try:
        reply = await send(outbound, Job(0, 0, row.id, row.url, secret, webhook_id, body))
    finally:
        await outbound.close()
    return reply.ok, reply.message


def _event_types(given: Iterable[str]) -> set[str]:
    types = set(given)
    known = {t.value for t in EventType}
    unknown = types - known
    if unknown:
        raise InvalidInput(
            f"unknown event type(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}",
            field="event_types",
        )
    return types


def _clients(conn: Connection, partner_id: int, client_ids: Iterable[int]) -> set[int]:
    wanted = {int(c) for c in client_ids}
    if not wanted:
        return wanted
    found = set(
        conn.execute(
            select(clients.c.id).where(clients.c.partner_id == partner_id, clients.c.id.in_(wanted))
        ).scalars()
    )
    if found != wanted:
        missing = ", ".join(str(c) for c in sorted(wanted - found))
        raise NotFound(f"client(s) {missing} not found")
    return wanted


def _row(conn: Connection, partner_id: int, subscription_id: int) -> Any:
    row = conn.execute(
        select(S).where(S.c.id == subscription_id, S.c.partner_id == partner_id)
    ).first()
    if row is None:
        raise NotFound(f"webhook subscription {subscription_id} does not exist")
    return row


def _state(s: Subscription) -> dict[str, Any]:
    """A subscription as the audit trail keeps it (its secret is never part of it)."""
    return {
        "url": s.url,
        "event_types": sorted(s.event_types),
        "client_ids": sorted(s.client_ids),
        "max_concurrent": s.max_concurrent,
    }


def _subscription(r: Any) -> Subscription:
    return Subscription(
        id=r.id,
        partner_id=r.partner_id,
        url=r.url,
        event_types=frozenset(EventType(t) for t in r.event_types),
        client_ids=frozenset(r.client_ids),
        active=r.active,
        disabled_reason=r.disabled_reason,
        created_at=r.created_at,
        max_concurrent=r.max_concurrent,
        paused_until=r.paused_until,
    )
