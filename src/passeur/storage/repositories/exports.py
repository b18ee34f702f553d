"""Reading exports and their attempts (the ledger in delivery/ writes them)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from passeur.domain.errors import NotFound
from passeur.domain.exports import (
    OPEN,
    RETRYABLE_BY_HAND,
    Attempt,
    AttemptOutcome,
    ErrorClass,
    Export,
    ExportState,
)
from passeur.storage.tables import (
    attempts,
    clients,
    documents,
    exports,
    installations,
    integrations,
)


@dataclass(frozen=True)
class ExportFilter:
    client_id: int | None = None
    integration_id: int | None = None
    document_id: int | None = None
    states: tuple[ExportState, ...] = ()
    error_class: ErrorClass | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500
    # A page of the ledger (keyset on id): only exports older than `before_id`, or newer
    # than `after_id`. Ids only grow, so a page boundary never moves while rows are
    # added or change state.
    before_id: int | None = None
    after_id: int | None = None


def to_export(row: Any) -> Export:
    return Export(
        id=row.id,
        partner_id=row.partner_id,
        document_id=row.document_id,
        integration_id=row.integration_id,
        version=row.version,
        state=ExportState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.due_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
        last_error_class=ErrorClass(row.last_error_class) if row.last_error_class else None,
        last_error=row.last_error,
        receipt=dict(row.receipt or {}),
        lease_owner=row.lease_owner,
    )


def to_listed(row: Any) -> dict[str, Any]:
    """A row of `select_exports`: the export and the names a person reads it by."""
    return {
        "export": to_export(row),
        "client_id": row.client_id,
        "client_name": row.client_name,
        "filename": row.filename,
        "installation_name": row.installation_name,
        "extension": row.extension,
    }


def select_exports(partner_id: int, f: ExportFilter, within: Collection[int] | None = None) -> Any:
    """The partner's exports matching the filter; `within` narrows them to these clients."""
    query = (
        select(
            exports,
            documents.c.client_id,
            clients.c.name.label("client_name"),
            documents.c.filename,
            installations.c.name.label("installation_name"),
            installations.c.extension,
        )
        .join(documents, documents.c.id == exports.c.document_id)
        .join(clients, clients.c.id == documents.c.client_id)
        .join(integrations, integrations.c.id == exports.c.integration_id)
        .join(installations, installations.c.id == integrations.c.installation_id)
        .where(exports.c.partner_id == partner_id)
    )
    if within is not None:
        query = query.where(documents.c.client_id.in_(list(within)))
    if f.client_id is not None:
        query = query.where(documents.c.client_id == f.client_id)
    if f.integration_id is not None:
        query = query.where(exports.c.integration_id == f.integration_id)
    if f.document_id is not None:
        query = query.where(exports.c.document_id == f.document_id)
    if f.states:
        query = query.where(exports.c.state.in_([s.value for s in f.states]))
    if f.error_class is not None:
        query = query.where(exports.c.last_error_class == f.error_class.value)
    if f.since is not None:
        query = query.where(exports.c.created_at >= f.since)
    if f.until is not None:
        query = query.where(exports.c.created_at < f.until)
    if f.before_id is not None:
        query = query.where(exports.c.id < f.before_id)
    if f.after_id is not None:
        query = query.where(exports.c.id > f.after_id)
    return query


def list_export_rows(
    conn: Connection, partner_id: int, f: ExportFilter, within: Collection[int] | None = None
) -> list[Any]:
    """Newest first. With `after_id`, the `limit` exports just newer than it (read upwards
    from it, so that the page is the one next to the cursor), still newest first."""
    found = list(conn.execute(page_query(partner_id, f, within)))
    return list(reversed(found)) if _upwards(f) else found


def page_query(partner_id: int, f: ExportFilter, within: Collection[int] | None = None) -> Any:
    """The query of one page: along the id, from the cursor, `limit` rows."""
    query = select_exports(partner_id, f, within)
    order = exports.c.id.asc() if _upwards(f) else exports.c.id.desc()
    return query.order_by(order).limit(f.limit)


def _upwards(f: ExportFilter) -> bool:
    return f.after_id is not None and f.before_id is None


def get_export_row(conn: Connection, partner_id: int, export_id: int) -> Any:
    """One export with the names a person reads it by (document, client, installation)."""
    query = select_exports(partner_id, ExportFilter()).where(exports.c.id == export_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"export {export_id} does not exist")
    return row


def integration_names(conn: Connection, partner_id: int, client_id: int) -> list[Any]:
    """A client's integrations by their installation's name (to filter the ledger by)."""
    query = (
        select(integrations.c.id, installations.c.name, installations.c.extension)
        .join(installations, installations.c.id == integrations.c.installation_id)
        .where(integrations.c.partner_id == partner_id, integrations.c.client_id == client_id)
        .order_by(installations.c.name, integrations.c.id)
    )
    return list(conn.execute(query))


def client_of(conn: Connection, partner_id: int, export_id: int) -> int:
    """The client whose document the export carries (who may see it depends on it)."""
    client_id = conn.execute(
        select(documents.c.client_id)
        .join(exports, exports.c.document_id == documents.c.id)
        .where(exports.c.id == export_id, exports.c.partner_id == partner_id)
    ).scalar()
    if client_id is None:
        raise NotFound(f"export {export_id} does not exist")
    return int(client_id)


def get_export(conn: Connection, partner_id: int, export_id: int) -> Export:
    row = conn.execute(
        select(exports).where(exports.c.id == export_id, exports.c.partner_id == partner_id)
    ).first()
    if row is None:
        raise NotFound(f"export {export_id} does not exist")
    return to_export(row)


def attempts_of(conn: Connection, export_id: int) -> list[Attempt]:
    rows = conn.execute(
        select(attempts).where(attempts.c.export_id == export_id).order_by(attempts.c.number)
    )
    return [
        Attempt(
            id=r.id,
            export_id=r.export_id,
            number=r.number,
            worker=r.worker,
            started_at=r.started_at,
            finished_at=r.finished_at,
            outcome=AttemptOutcome(r.outcome),
            error_class=ErrorClass(r.error_class) if r.error_class else None,
            message=r.message,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Tally:
    """One integration's exports at a glance."""

    delivered: int = 0
    failed: int = 0
    waiting: int = 0  # not finished: pending, retrying, running, held, needs attention
    last_export_at: datetime | None = None
    last_error: str = ""  # of the newest export still failed or waiting after an error


_OPEN_STATES = [s.value for s in OPEN]
_ERRORED = [s.value for s in RETRYABLE_BY_HAND]


def tally_by_integration(
    conn: Connection, partner_id: int, integration_ids: Collection[int]
) -> dict[int, Tally]:
    """Counts per integration, in one grouped query (a client's Integrations tab). The
    partner leads each condition, so that the (partner, integration, id) index reads these
    integrations' exports only, whatever the size of the firm or of the others."""
    if not integration_ids:
        return {}
    newest = exports.alias("newest")
    last_error = (
        select(newest.c.last_error)
        .where(
            newest.c.partner_id == partner_id,
            newest.c.integration_id == exports.c.integration_id,
            newest.c.state.in_(_ERRORED),
            newest.c.last_error != "",
        )
        .order_by(newest.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            exports.c.integration_id,
            count(exports.c.state == ExportState.DELIVERED.value).label("delivered"),
            count(exports.c.state == ExportState.FAILED.value).label("failed"),
            count(exports.c.state.in_(_OPEN_STATES)).label("waiting"),
            func.max(exports.c.created_at).label("last_export_at"),
            last_error.label("last_error"),
        )
        .where(
            exports.c.partner_id == partner_id,
            exports.c.integration_id.in_(list(integration_ids)),
        )
        .group_by(exports.c.integration_id)
    )
    return {
        int(r.integration_id): Tally(
            delivered=int(r.delivered or 0),
            failed=int(r.failed or 0),
            waiting=int(r.waiting or 0),
            last_export_at=r.last_export_at,
            last_error=r.last_error or "",
        )
        for r in conn.execute(query)
    }


def open_count_of_installation(conn: Connection, installation_id: int) -> int:
    """Exports of this installation not finished yet (what switching it off holds)."""
    query = select(func.count()).where(
        exports.c.installation_id == installation_id, exports.c.state.in_(_OPEN_STATES)
    )
    return int(conn.execute(query).scalar() or 0)


def has_exports(conn: Connection, integration_id: int) -> bool:
    query = select(exports.c.id).where(exports.c.integration_id == integration_id).limit(1)
    return conn.execute(query).first() is not None


@dataclass(frozen=True)
class Queue:
    """What is left for the workers, across partners: counts and the earliest due time."""

    pending: int
    retrying: int
    next_due: datetime | None


def queue(conn: Connection) -> Queue:
    waiting = (ExportState.PENDING.value, ExportState.RETRYING.value)
    query = (
        select(exports.c.state, func.count(), func.min(exports.c.due_at))
        .where(exports.c.state.in_(waiting))
        .group_by(exports.c.state)
    )
    found = {row[0]: (int(row[1]), row[2]) for row in conn.execute(query)}
    dues = [due for _count, due in found.values() if due is not None]
    return Queue(
        pending=found.get(ExportState.PENDING.value, (0, None))[0],
        retrying=found.get(ExportState.RETRYING.value, (0, None))[0],
        next_due=min(dues, default=None),
    )
