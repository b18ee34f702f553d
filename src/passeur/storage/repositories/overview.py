"""The practice at a glance: grouped counts for the home page, a few queries in all.

Each query is scoped by partner and, when `within` is given, by those clients (the
clients the visitor may see).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import ClientStatus
from passeur.storage.repositories.exports import ExportFilter, select_exports
from passeur.storage.tables import clients, documents, exports, installations, integrations

# Integrations a person must look at: parked by an error, or cut off by their target.
NEEDING_ATTENTION = (IntegrationStatus.NEEDS_ATTENTION, IntegrationStatus.DISCONNECTED)
# Exports counted on the home page (delivered ones are counted for today only).
COUNTED = (
    ExportState.FAILED,
    ExportState.NEEDS_ATTENTION,
    ExportState.PENDING,
    ExportState.RETRYING,
    ExportState.RUNNING,
    ExportState.HELD,
    ExportState.ON_FEED,
    ExportState.FETCHED,
)
WAITING = (
    ExportState.PENDING,
    ExportState.RETRYING,
    ExportState.RUNNING,
    ExportState.ON_FEED,
    ExportState.FETCHED,
)


def clients_by_status(
    conn: Connection, partner_id: int, within: Collection[int] | None
) -> dict[ClientStatus, int]:
    query = select(clients.c.status, func.count()).where(clients.c.partner_id == partner_id)
    if within is not None:
        query = query.where(clients.c.id.in_(list(within)))
    found = conn.execute(query.group_by(clients.c.status))
    return {ClientStatus(status): count for status, count in found}


def integrations_needing_attention(
    conn: Connection, partner_id: int, within: Collection[int] | None, limit: int
) -> list[Any]:
    """The latest changed first, each with `total`: how many there are in all.

    An archived client's integrations are disconnected on purpose: nothing to fix there.
    """
    query = (
        select(
            integrations.c.id,
            integrations.c.client_id,
            integrations.c.status,
            integrations.c.status_reason,
            integrations.c.updated_at,
            clients.c.name.label("client_name"),
            installations.c.name.label("installation_name"),
            func.count().over().label("total"),
        )
        .join(clients, clients.c.id == integrations.c.client_id)
        .join(installations, installations.c.id == integrations.c.installation_id)
        .where(
            integrations.c.partner_id == partner_id,
            integrations.c.status.in_([s.value for s in NEEDING_ATTENTION]),
            clients.c.status != ClientStatus.ARCHIVED.value,
        )
    )
    if within is not None:
        query = query.where(integrations.c.client_id.in_(list(within)))
    query = query.order_by(integrations.c.updated_at.desc(), integrations.c.id.desc())
    return list(conn.execute(query.limit(limit)))


def export_counts(
    conn: Connection, partner_id: int, within: Collection[int] | None
) -> dict[ExportState, int]:
    """How many exports are in each state that is not finished (an index range each)."""
    query = select(exports.c.state, func.count()).where(
        exports.c.partner_id == partner_id,
        exports.c.state.in_([s.value for s in COUNTED]),
    )
    query = _within(query, within)
    found = conn.execute(query.group_by(exports.c.state))
    return {ExportState(state): count for state, count in found}


def delivered_since(
    conn: Connection, partner_id: int, within: Collection[int] | None, since: datetime
) -> int:
    """Exports delivered since then (only delivered exports have a delivery time), along
    the (partner, delivered_at) index: today's of this firm, not every firm's."""
    query = select(func.count()).where(
        exports.c.partner_id == partner_id, exports.c.delivered_at >= since
    )
    return int(conn.execute(_within(query, within)).scalar_one())


def latest_failed(
    conn: Connection, partner_id: int, within: Collection[int] | None, limit: int
) -> list[Any]:
    """The newest failed exports, along the (partner, state) index: no sort of them all."""
    query = select_exports(partner_id, ExportFilter(states=(ExportState.FAILED,)), within)
    return list(conn.execute(query.order_by(exports.c.id.desc()).limit(limit)))


def oldest_waiting(conn: Connection, partner_id: int, within: Collection[int] | None) -> Any:
    """The first created export still on its way (ids grow with creation): the first of
    each state along the (partner, state) index, so no waiting export is sorted."""
    found = []
    for state in WAITING:
        query = select_exports(partner_id, ExportFilter(states=(state,)), within)
        first = conn.execute(query.order_by(exports.c.id).limit(1)).first()
        if first is not None:
            found.append(first)
    return min(found, key=lambda row: row.id) if found else None


def _within(query: Any, within: Collection[int] | None) -> Any:
    if within is None:
        return query
    return query.join(documents, documents.c.id == exports.c.document_id).where(
        documents.c.client_id.in_(list(within))
    )
