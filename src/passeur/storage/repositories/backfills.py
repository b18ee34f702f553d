"""Backfills, the documents they would send, and the exports they queued."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, select, update

from passeur.domain.clock import utcnow
from passeur.domain.errors import NotFound
from passeur.domain.exports import ExportState
from passeur.storage.tables import backfill_exports, backfills, documents, exports

_OPEN = [
    s.value
    for s in (
        ExportState.PENDING,
        ExportState.RETRYING,
        ExportState.RUNNING,
        ExportState.HELD,
        ExportState.NEEDS_ATTENTION,
        ExportState.ON_FEED,
        ExportState.FETCHED,
    )
]

# A try in flight, or an item the partner's software has fetched: let finish.
_IN_FLIGHT = (ExportState.RUNNING.value, ExportState.FETCHED.value)


def candidates(
    conn: Connection,
    integration: Any,
    start: datetime,
    end: datetime,
    *,
    resend_delivered: bool,
    after: int = 0,
    limit: int | None = None,
    backfill_id: int | None = None,
) -> list[Any]:
    """The client's documents released in [start, end) that this integration has not
    received, by id after `after`: never one with an export on its way (that would be
    doubled); one delivered only when asked, and then not one this backfill delivered."""
    own = exports.c.document_id == documents.c.id, exports.c.integration_id == integration.id
    query = select(documents).where(
        documents.c.partner_id == integration.partner_id,
        documents.c.client_id == integration.client_id,
        documents.c.released_at >= start,
        documents.c.released_at < end,
        documents.c.id > after,
        ~exists().where(*own, exports.c.state.in_(_OPEN)),
    )
    if not resend_delivered:
        query = query.where(~exists().where(*own, exports.c.state == ExportState.DELIVERED.value))
    elif backfill_id is not None:
        query = query.where(
            ~exists().where(
                *own,
                exports.c.state == ExportState.DELIVERED.value,
                backfill_exports.c.export_id == exports.c.id,
                backfill_exports.c.backfill_id == backfill_id,
            )
        )
    query = query.order_by(documents.c.id)
    return list(conn.execute(query if limit is None else query.limit(limit)))


def add(conn: Connection, partner_id: int, integration_id: int, **values: Any) -> int:
    now = utcnow()
    row = {"partner_id": partner_id, "integration_id": integration_id, "created_at": now}
    pk = conn.execute(insert(backfills).values(updated_at=now, **row, **values))
    assert pk.inserted_primary_key is not None
    return int(pk.inserted_primary_key[0])


def get(conn: Connection, partner_id: int, backfill_id: int, *, for_update: bool = False) -> Any:
    query = select(backfills).where(
        backfills.c.id == backfill_id, backfills.c.partner_id == partner_id
    )
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(f"backfill {backfill_id} does not exist")
    return row


def unfinished(conn: Connection, integration_id: int) -> Any:
    query = select(backfills).where(
        backfills.c.integration_id == integration_id, backfills.c.state != "finished"
    )
    return conn.execute(query.order_by(backfills.c.id.desc()).limit(1)).first()


def set_values(conn: Connection, backfill_id: int, **values: Any) -> None:
    conn.execute(
        update(backfills).where(backfills.c.id == backfill_id).values(updated_at=utcnow(), **values)
    )


def link(conn: Connection, backfill_id: int, export_ids: list[int]) -> None:
    if export_ids:
        conn.execute(
            insert(backfill_exports),
            [{"backfill_id": backfill_id, "export_id": e} for e in export_ids],
        )


def states(conn: Connection, backfill_id: int) -> Counter[str]:
    """How many of the backfill's exports are in each state."""
    query = (
        select(exports.c.state, func.count())
        .select_from(backfill_exports.join(exports, exports.c.id == backfill_exports.c.export_id))
        .where(backfill_exports.c.backfill_id == backfill_id)
        .group_by(exports.c.state)
    )
    return Counter({state: n for state, n in conn.execute(query)})


def waiting(conn: Connection, backfill_id: int) -> list[Any]:
    """The backfill's exports that have not gone out (a try in flight is let finish)."""
    query = (
        select(exports.c.id, exports.c.document_id)
        .select_from(backfill_exports.join(exports, exports.c.id == backfill_exports.c.export_id))
        .where(
            and_(
                backfill_exports.c.backfill_id == backfill_id,
                exports.c.state.in_([s for s in _OPEN if s not in _IN_FLIGHT]),
            )
        )
    )
    return list(conn.execute(query))
