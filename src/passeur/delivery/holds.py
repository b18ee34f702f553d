"""Holding queued exports and queueing them again: when a person pauses an integration
or switches an installation off (`hold`), resumes it (`release`), retries exports by hand
(`requeue`) or removes the integration (`cancel`).

Queueing again is one rule wherever it comes from: the exports are due now and their
retry schedule starts over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, or_, select, update

from passeur.delivery.document_statuses import refresh_document_statuses
from passeur.delivery.outbox import pulled_installations
from passeur.delivery.review_holds import hold_again
from passeur.delivery.wakeups import notify
from passeur.domain.clock import utcnow
from passeur.domain.exports import CLAIMABLE, RETRYABLE_BY_HAND, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import ClientStatus
from passeur.storage.tables import clients, exports, integrations

_CLAIMABLE = [s.value for s in CLAIMABLE]
# Queued, on the worker's queue or on a feed (a fetched feed item is left to its reader).
_QUEUED = [*_CLAIMABLE, ExportState.ON_FEED.value]


def hold(conn: Connection, integration_ids: list[int]) -> int:
    """Queued exports of these integrations wait (a try in flight finishes normally)."""
    if not integration_ids:
        return 0
    return int(
        conn.execute(
            update(exports)
            .where(exports.c.integration_id.in_(integration_ids), exports.c.state.in_(_QUEUED))
            .values(state=ExportState.HELD.value, due_at=None, updated_at=utcnow())
        ).rowcount
    )


def release(conn: Connection, integration_ids: list[int], *, parked_too: bool = False) -> int:
    """Held (and, when asked, parked) exports of these integrations are due now."""
    if not integration_ids:
        return 0
    states = [ExportState.HELD.value]
    if parked_too:
        states.append(ExportState.NEEDS_ATTENTION.value)
    return _queue_again(
        conn, exports.c.integration_id.in_(integration_ids), exports.c.state.in_(states)
    )


def queue_again(conn: Connection, partner_id: int, export_ids: Sequence[int]) -> int:
    """These exports of the partner are due now (a hold on them was lifted)."""
    return _queue_again(conn, exports.c.partner_id == partner_id, exports.c.id.in_(export_ids))


def requeue(conn: Connection, partner_id: int, export_ids: Sequence[int]) -> int:
    """Manual retry: the exports are due now and their retry schedule starts over.

    When the integration was parked (needs attention, or disconnected because the target
    said it was gone), the person retrying says it is fixed: the integration becomes
    active again and every export parked behind it is queued too. An archived client's
    integrations stay disconnected. Only the partner's own exports and integrations are
    read or changed, whatever ids the caller passes.
    """
    rows = conn.execute(
        select(exports.c.id, exports.c.integration_id).where(
            exports.c.partner_id == partner_id, exports.c.id.in_(export_ids)
        )
    ).all()
    reactivated = _reactivate(conn, partner_id, {r.integration_id for r in rows})
    condition: Any = exports.c.id.in_([r.id for r in rows])
    if reactivated:
        condition = or_(
            condition,
            and_(
                exports.c.integration_id.in_(reactivated),
                exports.c.state == ExportState.NEEDS_ATTENTION.value,
            ),
        )
    retryable = [s.value for s in RETRYABLE_BY_HAND]
    return _queue_again(
        conn, exports.c.partner_id == partner_id, condition, exports.c.state.in_(retryable)
    )


def _reactivate(conn: Connection, partner_id: int, integration_ids: set[int]) -> list[int]:
    """The partner's parked integrations among these become active; their ids."""
    return list(
        conn.execute(
            update(integrations)
            .where(
                integrations.c.partner_id == partner_id,
                integrations.c.id.in_(integration_ids),
                or_(
                    integrations.c.status == IntegrationStatus.NEEDS_ATTENTION.value,
                    and_(
                        integrations.c.status == IntegrationStatus.DISCONNECTED.value,
                        integrations.c.client_id.in_(
                            select(clients.c.id).where(
                                clients.c.status != ClientStatus.ARCHIVED.value
                            )
                        ),
                    ),
                ),
            )
            .values(status=IntegrationStatus.ACTIVE.value, status_reason="", updated_at=utcnow())
            .returning(integrations.c.id)
        ).scalars()
    )


def _queue_again(conn: Connection, *where: Any) -> int:
    """The exports that meet `where` are due now, their retry schedule starting over; a
    pulled target's go back on its feed (the worker never pushes them); those of a
    document awaiting review to a booking extension wait again instead."""
    now = utcnow()
    on_feed = exports.c.installation_id.in_(pulled_installations())
    queued = conn.execute(
        update(exports)
        .where(*where)
        .values(
            state=case((on_feed, ExportState.ON_FEED.value), else_=ExportState.PENDING.value),
            due_at=case((on_feed, None), else_=now),
            lease_owner="",
            schedule_base=exports.c.attempts,
            updated_at=now,
        )
        .returning(exports.c.id, exports.c.document_id)
    ).all()
    hold_again(conn, [r.id for r in queued])
    changed = [r.document_id for r in queued]
    refresh_document_statuses(conn, set(changed))
    if changed:
        notify(conn)
    return len(changed)


def cancel(conn: Connection, integration_ids: list[int], reason: str) -> int:
    """Exports of these integrations that have not gone out never will (the integration
    was removed); a try in flight finishes normally."""
    if not integration_ids:
        return 0
    waiting = [
        *_QUEUED,
        ExportState.HELD.value,
        ExportState.NEEDS_ATTENTION.value,
        ExportState.FETCHED.value,  # its ack will find it cancelled
    ]
    cancelled = conn.execute(
        update(exports)
        .where(exports.c.integration_id.in_(integration_ids), exports.c.state.in_(waiting))
        .values(
            state=ExportState.CANCELLED.value, due_at=None, last_error=reason, updated_at=utcnow()
        )
        .returning(exports.c.document_id)
    ).all()
    refresh_document_statuses(conn, {r.document_id for r in cancelled})
    return len(cancelled)


def integrations_of(conn: Connection, installation_id: int, *, active_only: bool) -> list[int]:
    query = select(integrations.c.id).where(integrations.c.installation_id == installation_id)
    if active_only:
        query = query.where(integrations.c.status == IntegrationStatus.ACTIVE.value)
    return list(conn.execute(query).scalars())
