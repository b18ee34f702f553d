"""Recording partner events in the caller's transaction (the transactional outbox): one
delivery row per subscription that wants the event, claimed by the worker later. If the
change rolls back, so does its event; if it commits, its event will be sent."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, insert, select

from passeur.delivery.wakeups import notify
from passeur.domain.clock import utcnow
from passeur.domain.events import DeliveryState, EventType
from passeur.storage.id_lists import id_in
from passeur.storage.tables import webhook_deliveries, webhook_subscriptions


def record(
    conn: Connection,
    partner_id: int,
    event_type: EventType,
    data: dict[str, Any],
    *,
    client_id: int | None = None,
) -> int:
    """Queue the event for every active subscription of the partner that wants it; how
    many deliveries were queued."""
    subscriptions = conn.execute(
        select(
            webhook_subscriptions.c.id,
            webhook_subscriptions.c.event_types,
            webhook_subscriptions.c.client_ids,
        ).where(
            webhook_subscriptions.c.partner_id == partner_id,
            webhook_subscriptions.c.active.is_(True),
        )
    ).all()
    wanted = [
        s.id
        for s in subscriptions
        if (not s.event_types or event_type.value in s.event_types)
        and (not s.client_ids or client_id is None or client_id in s.client_ids)
    ]
    if not wanted:
        return 0
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {
        "id": event_id,
        "type": event_type.value,
        "timestamp": now.isoformat(timespec="seconds") + "Z",
        "data": {"client_id": client_id, **data} if client_id is not None else data,
    }
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "partner_id": partner_id,
                "subscription_id": sid,
                "event_type": event_type.value,
                "webhook_id": f"{event_id}_{sid}",
                "payload": payload,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "due_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for sid in wanted
        ],
    )
    notify(conn)
    return len(wanted)


def subscribed(conn: Connection, partner_ids: set[int]) -> set[int]:
    """Those partners that have an active subscription (one read per batch: a worker's
    common path costs nothing more for partners who listen to nothing)."""
    if not partner_ids:
        return set()
    return set(conn.execute(_SUBSCRIBED, {"ids": list(partner_ids)}).scalars())


# Built once: a worker asks at every trip that records deliveries.
_SUBSCRIBED = (
    select(webhook_subscriptions.c.partner_id)
    .where(id_in(webhook_subscriptions.c.partner_id), webhook_subscriptions.c.active.is_(True))
    .distinct()
)


def exports_changed(
    conn: Connection,
    event_type: EventType,
    export_ids: list[int],
    extra: dict[str, Any] | None = None,
    *,
    listening: Collection[int] | None = None,
) -> None:
    """An export event for each of these exports, for partners that listen (`listening`:
    those partners, when the caller has just read them)."""
    if not export_ids:
        return
    from passeur.storage.tables import documents, exports

    found = conn.execute(
        select(
            exports.c.id,
            exports.c.partner_id,
            exports.c.document_id,
            exports.c.integration_id,
            exports.c.version,
            exports.c.state,
            exports.c.last_error,
            documents.c.client_id,
        )
        .join(documents, documents.c.id == exports.c.document_id)
        .where(exports.c.id.in_(export_ids))
    ).all()
    if listening is None:
        listening = subscribed(conn, {r.partner_id for r in found})
    for r in found:
        if r.partner_id in listening:
            data = {
                "export_id": r.id,
                "document_id": r.document_id,
                "integration_id": r.integration_id,
                "version": r.version,
                "state": r.state,
                **({"error": r.last_error} if r.last_error else {}),
                **(extra or {}),
            }
            record(conn, r.partner_id, event_type, data, client_id=r.client_id)


def integration_changed(
    conn: Connection, partner_id: int, integration_id: int, status: str
) -> None:
    from passeur.storage.tables import integrations

    client_id = conn.execute(
        select(integrations.c.client_id).where(integrations.c.id == integration_id)
    ).scalar()
    record(
        conn,
        partner_id,
        EventType.INTEGRATION_STATUS_CHANGED,
        {"integration_id": integration_id, "status": status},
        client_id=client_id,
    )
