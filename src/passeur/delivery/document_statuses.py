"""A document's accounting status, derived from the states of its exports: refreshed in
the transaction that changes them."""

from __future__ import annotations

from sqlalchemy import Connection, and_, bindparam, select, update

from passeur.domain.clock import utcnow
from passeur.domain.documents import AccountingStatus, Lifecycle, status_from_exports
from passeur.domain.errors import NotFound
from passeur.domain.exports import ExportState
from passeur.storage.id_lists import id_in
from passeur.storage.repositories.subscriptions import partner_listens
from passeur.storage.tables import documents, exports

# With each document, whether its partner listens to events (an active subscription): a
# worker that records deliveries asks, and a read of its own was a statement per trip.
_DOCUMENT_STATES = (
    select(
        documents.c.id,
        documents.c.accounting_status,
        documents.c.lifecycle,
        exports.c.state,
        documents.c.partner_id,
        partner_listens(documents.c.partner_id),
    )
    .select_from(
        documents.outerjoin(
            exports,
            and_(
                exports.c.document_id == documents.c.id,
                exports.c.state != ExportState.CANCELLED.value,
            ),
        )
    )
    .where(id_in(documents.c.id))
)
_SET_STATUS = (
    update(documents)
    .where(id_in(documents.c.id))
    .values(accounting_status=bindparam("status_value"), updated_at=bindparam("now"))
)


def refresh_document_status(conn: Connection, partner_id: int, document_id: int) -> None:
    """refresh_document_statuses for one document, which must be the partner's."""
    owner = conn.execute(
        select(documents.c.partner_id).where(documents.c.id == document_id)
    ).scalar()
    if owner != partner_id:  # tenants are walled
        raise NotFound(f"document {document_id} not found")
    refresh_document_statuses(conn, {document_id})


def refresh_document_statuses(conn: Connection, document_ids: set[int]) -> set[int]:
    """refresh_document_status for many documents at once (ids come from the ledger); the
    partners of these documents that listen to events, read with them."""
    ordered = sorted(document_ids)
    listening: set[int] = set()
    for start in range(0, len(ordered), 500):
        listening |= _refresh_some(conn, ordered[start : start + 500])
    return listening


def _refresh_some(conn: Connection, document_ids: list[int]) -> set[int]:
    """One query reads the documents with the states of their exports."""
    if not document_ids:
        return set()
    found: dict[int, tuple[str, str, list[str]]] = {}
    listening: set[int] = set()
    for row in conn.execute(_DOCUMENT_STATES, {"ids": document_ids}):
        entry = found.setdefault(row.id, (row.accounting_status, row.lifecycle, []))
        if row.state is not None:
            entry[2].append(row.state)
        if row.partner_listens:
            listening.add(row.partner_id)
    changes: dict[str, list[int]] = {}  # new status: its documents (mostly one status)
    for document_id, (accounting_status, lifecycle, states) in found.items():
        current = AccountingStatus(accounting_status)
        status = status_from_exports(current, Lifecycle(lifecycle), states)
        if status is not current:
            changes.setdefault(status.value, []).append(document_id)
    now = utcnow()
    for value, ids in changes.items():
        conn.execute(_SET_STATUS, {"ids": ids, "status_value": value, "now": now})
    return listening
