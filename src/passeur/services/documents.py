"""Documents in (upload), released (approve, send, arrival) and out (exports created).

Approving and sending are the client's acts (its business users, or the operator for
them); marking processed and (re-)sending are the accountant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery import document_statuses, events, holds, outbox, review_holds
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.audit import Change
from passeur.domain.clock import utcnow
from passeur.domain.documents import (
    AccountingStatus,
    AwaitingClient,
    Document,
    Family,
    Folder,
    Lifecycle,
    status_from_exports,
)
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.events import EventType
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as rows
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories import releases


def approve(app: App, partner_id: int, document_id: int, *, actor: Actor = OPERATOR) -> Document:
    return release(app, partner_id, document_id, Lifecycle.APPROVED, actor=actor)


def send(app: App, partner_id: int, document_id: int, *, actor: Actor = OPERATOR) -> Document:
    return release(app, partner_id, document_id, Lifecycle.SENT, actor=actor)


def approve_many(
    app: App, partner_id: int, document_ids: list[int], *, actor: Actor = OPERATOR
) -> list[Document]:
    return release_many(app, partner_id, document_ids, Lifecycle.APPROVED, actor=actor)


def send_many(
    app: App, partner_id: int, document_ids: list[int], *, actor: Actor = OPERATOR
) -> list[Document]:
    return release_many(app, partner_id, document_ids, Lifecycle.SENT, actor=actor)


def release(
    app: App, partner_id: int, document_id: int, event: Lifecycle, *, actor: Actor = OPERATOR
) -> Document:
    """Approve or send: the release and its exports commit together (transactional outbox)."""
    return release_many(app, partner_id, [document_id], event, actor=actor)[0]


def release_many(
    app: App, partner_id: int, document_ids: list[int], event: Lifecycle, *, actor: Actor = OPERATOR
) -> list[Document]:
    """Approve or send several documents in one transaction, all or none: one that cannot
    be released leaves every other one as it was. The documents as released, in order."""
    require(actor, Action.RELEASE, partner_id)
    _check_bulk(document_ids)
    with transaction(app.engine) as conn:
        return _release(conn, partner_id, document_ids, event, actor)


def release_all_in(
    conn: Connection, partner_id: int, document_ids: list[int], event: Lifecycle
) -> None:
    """Release inside the caller's transaction (intake releases statements on arrival).

    Arrival is the system's act: intake has checked the uploader's right to upload.
    """
    _release(conn, partner_id, document_ids, event, OPERATOR)


def _release(
    conn: Connection, partner_id: int, document_ids: list[int], event: Lifecycle, actor: Actor
) -> list[Document]:
    """A handful of statements whatever the number of documents: the documents read and
    locked, their clients' integrations read, every export inserted, every document
    released with the status its new exports give it. A document waiting for its client
    has no export yet, so those are all its exports."""
    read = releases.read_for_release(conn, partner_id, document_ids)
    found, listens, receiving = read.documents, read.listens, read.receiving
    for document in found:
        require(
            actor, Action.RELEASE, partner_id, document.client_id, what=f"document {document.id}"
        )
        if event is not Lifecycle.ARRIVED:
            document.release(event)
    now = utcnow()
    planned = outbox.plan(
        conn, [(d, receiving.get(d.client_id, [])) for d in found], _receives, now
    )
    statuses = {
        d.id: status_from_exports(
            d.accounting_status, event, [s.value for s in planned.states[d.id]]
        )
        for d in found
    }
    released = outbox.release_with_exports(conn, planned, found, statuses, event, now)
    if listens:
        for d in found:
            data = {"document_id": d.id, "kind": d.kind.value, "lifecycle": event.value}
            events.record(
                conn, partner_id, EventType.DOCUMENT_RELEASED, data, client_id=d.client_id
            )
    return [released[document_id] for document_id in document_ids]


BULK_LIMIT = 500  # documents in one bulk action (a page shows 50)


def mark_processed(
    app: App,
    partner_id: int,
    document_ids: list[int],
    *,
    client_id: int | None = None,
    actor: Actor = OPERATOR,
) -> None:
    """All or none: one refused document leaves every other one as it was. With
    `client_id`, every document must be that client's (a page's bulk action)."""
    require(actor, Action.PROCESS, partner_id)
    _check_bulk(document_ids)
    with transaction(app.engine) as conn:
        for document_id in document_ids:
            document = _document(
                conn, partner_id, document_id, actor, Action.PROCESS, for_update=True
            )
            _check_client(document, client_id)
            if document.lifecycle is Lifecycle.RECEIVED:
                raise AwaitingClient(
                    document_id, f"document {document_id} still waits for the client"
                )
            rows.set_status(conn, document_id, AccountingStatus.PROCESSED)


def mark_reviewed(
    app: App, partner_id: int, document_id: int, *, actor: Actor = OPERATOR
) -> Document:
    """A person has looked at a document awaiting review (its totals do not add up): its
    exports held from accounting software go out. Refused (Conflict) for a document that
    does not await review; nothing changes then."""
    require(actor, Action.PROCESS, partner_id)
    with transaction(app.engine) as conn:
        document = _document(conn, partner_id, document_id, actor, Action.PROCESS, for_update=True)
        if not document.review_reason:
            raise Conflict(f"document {document_id} has nothing to review")
        if document.reviewed_at is not None:
            raise Conflict(f"document {document_id} was already reviewed by {document.reviewed_by}")
        due = review_holds.reviewed(conn, partner_id, document_id, actor.label)
        holds.queue_again(conn, partner_id, due)
        document_statuses.refresh_document_status(conn, partner_id, document_id)
        return rows.get_document(conn, partner_id, document_id)


def resend(
    app: App,
    partner_id: int,
    document_id: int,
    integration_ids: list[int] | None = None,
    *,
    actor: Actor = OPERATOR,
) -> list[int]:
    """(Re-)send to integrations: a new export version each, never a silent duplicate."""
    require(actor, Action.PROCESS, partner_id)
    with transaction(app.engine) as conn:
        return _resend(conn, partner_id, document_id, integration_ids, actor)


def resend_many(
    app: App,
    partner_id: int,
    document_ids: list[int],
    *,
    client_id: int | None = None,
    actor: Actor = OPERATOR,
) -> int:
    """(Re-)send several documents to all their integrations, all or none; the number of
    exports created. With `client_id`, every document must be that client's."""
    created = resend_each(app, partner_id, document_ids, client_id=client_id, actor=actor)
    return sum(len(ids) for ids in created.values())


def resend_each(
    app: App,
    partner_id: int,
    document_ids: list[int],
    integration_ids: list[int] | None = None,
    *,
    client_id: int | None = None,
    actor: Actor = OPERATOR,
) -> dict[int, list[int]]:
    """resend_many, saying which exports each document got (to the integrations given, or
    all of its own)."""
    require(actor, Action.PROCESS, partner_id)
    _check_bulk(document_ids)
    with transaction(app.engine) as conn:
        return {
            d: _resend(conn, partner_id, d, integration_ids, actor, client_id) for d in document_ids
        }


def _check_bulk(document_ids: list[int]) -> None:
    if len(document_ids) > BULK_LIMIT:
        raise InvalidInput(f"at most {BULK_LIMIT} documents at once", field="document")


def _check_client(document: Document, client_id: int | None) -> None:
    if client_id is not None and document.client_id != client_id:
        raise NotFound(f"document {document.id} does not exist")


def _resend(
    conn: Connection,
    partner_id: int,
    document_id: int,
    integration_ids: list[int] | None,
    actor: Actor,
    client_id: int | None = None,
) -> list[int]:
    document = _document(conn, partner_id, document_id, actor, Action.PROCESS, for_update=True)
    _check_client(document, client_id)
    if document.lifecycle is Lifecycle.RECEIVED:
        raise AwaitingClient(
            document_id, f"document {document_id} has not been released by the client yet"
        )
    targets = installation_rows.receiving_integrations(conn, partner_id, document.client_id)
    if integration_ids is not None:
        targets = [t for t in targets if t.id in set(integration_ids)]
        if len(targets) != len(set(integration_ids)):
            raise InvalidInput("some integrations are not active for this client")
    now = utcnow()
    created = []
    for row in targets:
        if document.family not in _receives(row):
            continue
        export_id = outbox.create_next_version(conn, document, row, now)
        created.append(export_id)
        change = Change(
            "document.resend", document_id, {},
            {"document": document.filename, "export_id": export_id},
            client_id=document.client_id, integration_id=row.id,
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)
    if document.accounting_status is AccountingStatus.PROCESSED:
        rows.set_status(conn, document_id, AccountingStatus.QUEUED)
    document_statuses.refresh_document_status(conn, partner_id, document_id)
    return created


def _receives(integration_row: Any) -> frozenset[Family]:
    """The families an integration takes: its extension's, narrowed by its own values."""
    return registry.extension(integration_row.extension).families_for(integration_row.config)


def get(app: App, partner_id: int, document_id: int, *, actor: Actor = OPERATOR) -> Document:
    require(actor, Action.SEE_DOCUMENTS, partner_id)
    with reading(app.engine) as conn:
        return _document(conn, partner_id, document_id, actor, Action.SEE_DOCUMENTS)


def list_documents(
    app: App, partner_id: int, client_id: int | None = None, *, actor: Actor = OPERATOR
) -> list[Document]:
    """The documents of the clients the actor may see (of one client, when named)."""
    within = clients_within(actor, Action.SEE_DOCUMENTS, partner_id)
    with reading(app.engine) as conn:
        if client_id is not None:
            partner_rows.get_client(conn, partner_id, client_id)
            require(actor, Action.SEE_DOCUMENTS, partner_id, client_id)
        return rows.list_documents(conn, partner_id, client_id, within=within)


def _document(
    conn: Connection,
    partner_id: int,
    document_id: int,
    actor: Actor,
    action: Action,
    *,
    for_update: bool = False,
) -> Document:
    """The document, if the actor may do `action` on its client."""
    document = rows.get_document(conn, partner_id, document_id, for_update=for_update)
    require(actor, action, partner_id, document.client_id, what=f"document {document_id}")
    return document


@dataclass(frozen=True)
class FolderPage:
    """One page of a client's folder, with the number of documents in every folder."""

    folder: Folder
    documents: list[Document]
    counts: dict[Folder, int]
    offset: int
    limit: int

    @property
    def total(self) -> int:
        return self.counts[self.folder]


def folder_page(
    app: App,
    partner_id: int,
    client_id: int,
    folder: Folder,
    *,
    offset: int = 0,
    limit: int = 50,
    status: AccountingStatus | None = None,
    before_id: int | None = None,
    actor: Actor = OPERATOR,
) -> FolderPage:
    """A client's documents in one folder (product.md §1.4), newest first; in one
    accounting status and older than `before_id` (the API's keyset cursor) when given."""
    require(actor, Action.SEE_DOCUMENTS, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_client(conn, partner_id, client_id)
        require(actor, Action.SEE_DOCUMENTS, partner_id, client_id)
        counts = rows.folder_counts(conn, partner_id, client_id)
        found = rows.list_folder(
            conn,
            partner_id,
            client_id,
            folder,
            limit=limit,
            offset=max(offset, 0),
            status=status,
            before_id=before_id,
        )
    return FolderPage(folder, found, counts, max(offset, 0), limit)


def files(
    app: App, partner_id: int, document_id: int, *, actor: Actor = OPERATOR
) -> list[rows.StoredFile]:
    """The document's stored files: its original, and the PDF inside it when it has one."""
    require(actor, Action.SEE_DOCUMENTS, partner_id)
    with reading(app.engine) as conn:
        _document(conn, partner_id, document_id, actor, Action.SEE_DOCUMENTS)
        return rows.files_of(conn, document_id)


def open_file(
    app: App, partner_id: int, document_id: int, role: str, *, actor: Actor = OPERATOR
) -> tuple[str, str, BinaryIO]:
    """One stored file to read: its name, media type and an open stream (the caller
    closes it)."""
    found = {f.role: f for f in files(app, partner_id, document_id, actor=actor)}
    stored = found.get(role)
    if stored is None:
        raise NotFound(f"document {document_id} has no {role} file")
    return stored.filename, stored.media_type, app.blobs.open(stored.sha256)
