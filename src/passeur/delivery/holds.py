"""Holding and releasing queued exports when a person pauses an integration or switches an
installation off, and queueing parked exports again once the cause is fixed."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from passeur.delivery.ledger import notify, refresh_document_statuses
from passeur.domain.clock import utcnow
from passeur.domain.exports import CLAIMABLE, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.storage.tables import exports, integrations

_CLAIMABLE = [s.value for s in CLAIMABLE]


def hold(conn: Connection, integration_ids: list[int]) -> int:
    """Queued exports of these integrations wait (a try in flight finishes normally)."""
    if not integration_ids:
        return 0
    return int(
        conn.execute(
            update(exports)
            .where(exports.c.integration_id.in_(integration_ids), exports.c.state.in_(_CLAIMABLE))
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
    now = utcnow()
    released = conn.execute(
        update(exports)
        .where(exports.c.integration_id.in_(integration_ids), exports.c.state.in_(states))
        .values(
            state=ExportState.PENDING.value,
            due_at=now,
            schedule_base=exports.c.attempts,
            updated_at=now,
        )
        .returning(exports.c.partner_id, exports.c.document_id)
    ).all()
    refresh_document_statuses(conn, {r.document_id for r in released})
    if released:
        notify(conn)
    return len(released)


def cancel(conn: Connection, integration_ids: list[int], reason: str) -> int:
    """Exports of these integrations that have not gone out never will (the integration
    was removed); a try in flight finishes normally."""
    if not integration_ids:
        return 0
    waiting = [*_CLAIMABLE, ExportState.HELD.value, ExportState.NEEDS_ATTENTION.value]
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
