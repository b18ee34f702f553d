"""A feed's rows: the exports of one pulled integration, taken under a lease by the
partner's software and acknowledged.

Taking is one short write transaction. On PostgreSQL the candidates are locked with
SKIP LOCKED, so two readers pulling at once pass over each other's rows; on SQLite the
transaction holds the one write lock (BEGIN IMMEDIATE). In both, the update that leases
a row states again that the row is free, so a row is never leased twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from passeur.domain.exports import AttemptOutcome, ErrorClass, ExportState
from passeur.storage.id_lists import id_in
from passeur.storage.tables import attempts, document_files, documents, exports

FETCHED = ExportState.FETCHED.value
# On the feed and free: never fetched, or fetched and its lease has run out.
_FREE = or_(
    exports.c.state == ExportState.ON_FEED.value,
    and_(exports.c.state == FETCHED, exports.c.due_at <= bindparam("now")),
)
_CANDIDATES = (
    select(exports.c.id, exports.c.state)
    .where(
        exports.c.partner_id == bindparam("partner_id"),
        exports.c.integration_id == bindparam("integration_id"),
        exports.c.id > bindparam("after"),
        _FREE,
    )
    .order_by(exports.c.id)
    .limit(bindparam("n"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(exports)
    .where(id_in(exports.c.id), _FREE)
    .values(
        state=FETCHED,
        attempts=exports.c.attempts + 1,
        lease_owner=bindparam("reader"),
        due_at=bindparam("until"),
        updated_at=bindparam("now"),
    )
    .returning(exports.c.id, exports.c.document_id, exports.c.version, exports.c.attempts)
)
_ABANDON = (
    update(attempts)
    .where(id_in(attempts.c.export_id), attempts.c.outcome == AttemptOutcome.RUNNING.value)
    .values(
        outcome=AttemptOutcome.ABANDONED.value,
        finished_at=bindparam("now"),
        error_class=ErrorClass.LEASE_EXPIRED.value,
        message="not acknowledged within its lease; offered again",
    )
)


def take(
    conn: Connection,
    partner_id: int,
    integration_id: int,
    *,
    after: int,
    limit: int,
    reader: str,
    now: datetime,
    until: datetime,
) -> list[Any]:
    """Lease up to `limit` free items with ids above `after`, in id order; the rows
    leased (id, document_id, version, attempts). Each fetch is an attempt on the export."""
    params = {
        "partner_id": partner_id,
        "integration_id": integration_id,
        "after": after,
        "n": limit,
        "now": now,
    }
    candidates = conn.execute(_CANDIDATES, params).all()
    if not candidates:
        return []
    ids = [r.id for r in candidates]
    leased = conn.execute(_LEASE, {"ids": ids, "now": now, "until": until, "reader": reader}).all()
    taken = [r.id for r in leased]
    again = [r.id for r in candidates if r.state == FETCHED and r.id in set(taken)]
    if again:  # the fetch whose lease ran out is over
        conn.execute(_ABANDON, {"ids": again, "now": now})
    if taken:
        conn.execute(
            insert(attempts),
            [
                {
                    "export_id": r.id,
                    "number": r.attempts,
                    "worker": reader,
                    "started_at": now,
                    "outcome": AttemptOutcome.RUNNING.value,
                    "message": "",
                }
                for r in leased
            ],
        )
    return sorted(leased, key=lambda r: r.id)


def item(conn: Connection, partner_id: int, integration_id: int, export_id: int) -> Any:
    """One export of this integration (id, document_id, state, attempts), locked for
    update; None when it is not this partner's and this integration's."""
    return conn.execute(
        select(exports.c.id, exports.c.document_id, exports.c.state, exports.c.attempts)
        .where(
            exports.c.id == export_id,
            exports.c.partner_id == partner_id,
            exports.c.integration_id == integration_id,
        )
        .with_for_update()
    ).first()


def items(conn: Connection, partner_id: int, integration_id: int, export_ids: list[int]) -> Any:
    """Those exports of this integration (as `item`), locked for update in id order (two
    acknowledgements of overlapping pages never wait on each other in a circle)."""
    return conn.execute(
        select(exports.c.id, exports.c.document_id, exports.c.state, exports.c.attempts)
        .where(
            id_in(exports.c.id),
            exports.c.partner_id == partner_id,
            exports.c.integration_id == integration_id,
        )
        .order_by(exports.c.id)
        .with_for_update(),
        {"ids": export_ids},
    ).all()


def acknowledge(conn: Connection, export_ids: list[int], reader: str, now: datetime) -> int:
    """The items are delivered: their software has them. Each fetch's attempt says so.
    Two statements for any number of items; the rows still fetched that changed."""
    done = conn.execute(
        update(exports)
        .where(id_in(exports.c.id), exports.c.state == FETCHED)
        .values(
            state=ExportState.DELIVERED.value,
            due_at=None,
            delivered_at=now,
            lease_owner="",
            last_error_class=None,
            last_error="",
            receipt={"location": "feed", "acknowledged_by": reader},
            updated_at=now,
        ),
        {"ids": export_ids},
    ).rowcount
    conn.execute(
        update(attempts)
        .where(
            id_in(attempts.c.export_id),
            attempts.c.outcome == AttemptOutcome.RUNNING.value,
        )
        .values(
            outcome=AttemptOutcome.DELIVERED.value,
            finished_at=now,
            error_class=None,
            message="acknowledged",
        ),
        {"ids": export_ids},
    )
    return int(done)


def documents_of(conn: Connection, document_ids: set[int]) -> list[Any]:
    return list(
        conn.execute(select(documents).where(id_in(documents.c.id)), {"ids": list(document_ids)})
    )


def files_of(conn: Connection, document_ids: set[int]) -> list[Any]:
    return list(
        conn.execute(
            select(document_files)
            .where(id_in(document_files.c.document_id))
            .order_by(document_files.c.id),
            {"ids": list(document_ids)},
        )
    )
