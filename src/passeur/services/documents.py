"""Documents in (upload), released (approve, send, arrival) and out (exports created)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery import ledger
from passeur.domain.clock import utcnow
from passeur.domain.documents import (
    AccountingStatus,
    Direction,
    Document,
    DocumentKind,
    Family,
    Lifecycle,
    family_of,
    initial_lifecycle,
    initial_status,
)
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.partners import ClientStatus
from passeur.formats.intake import read_document
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as rows
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as partner_rows

MAX_SIZE = 50 * 1024 * 1024


def upload(
    app: App,
    partner_id: int,
    client_id: int,
    filename: str,
    data: bytes,
    *,
    kind: DocumentKind | None = None,
    direction: Direction | None = None,
) -> Document:
    """Store a client's document. Statements are released (and exported) on arrival.

    The type comes from the content; a refused file stores nothing.
    """
    if len(data) > MAX_SIZE:
        raise InvalidInput(f"{filename} is larger than {MAX_SIZE // (1024 * 1024)} MB")
    found = read_document(data, filename)
    kind = _decide_kind(kind, found.kind, filename)
    if kind is DocumentKind.CREDIT_NOTE and direction is None:
        direction = found.direction
        if direction is None:
            raise InvalidInput("say whether this credit note is a purchase or a sales credit note")
    family = family_of(kind, direction)
    with reading(app.engine) as conn:
        client = partner_rows.get_client(conn, partner_id, client_id)
    if client.status is ClientStatus.ARCHIVED:
        raise Conflict(f"client {client.name} is archived")
    sha, size = app.blobs.put(io.BytesIO(data), max_size=MAX_SIZE)
    pdf = None
    if found.embedded_pdf:
        pdf = app.blobs.put(io.BytesIO(found.embedded_pdf), max_size=MAX_SIZE)
    with transaction(app.engine) as conn:
        document_id = rows.add_document(
            conn,
            partner_id,
            client_id,
            kind=kind.value,
            direction=direction.value if direction else None,
            filename=filename[:255],
            media_type=found.media_type,
            sha256=sha,
            size=size,
            number=found.number[:100],
            issue_date=found.issue_date[:10],
            metadata={"type": found.type, **found.metadata},
            lifecycle=Lifecycle.RECEIVED.value,
            accounting_status=initial_status(family).value,
        )
        rows.add_file(
            conn, document_id, rows.StoredFile("original", filename, found.media_type, sha, size)
        )
        if pdf is not None:
            stem = filename.rsplit(".", 1)[0]
            rows.add_file(
                conn, document_id, rows.StoredFile("pdf", f"{stem}.pdf", "application/pdf", *pdf)
            )
        if initial_lifecycle(family) is Lifecycle.ARRIVED:
            _release(conn, partner_id, document_id, Lifecycle.ARRIVED)
        return rows.get_document(conn, partner_id, document_id)


def _decide_kind(
    asked: DocumentKind | None, found: DocumentKind | None, filename: str
) -> DocumentKind:
    if asked is None and found is None:
        raise InvalidInput(
            f"say what {filename} is (purchase_invoice, sales_invoice, credit_note, "
            "purchase_receipt, other)"
        )
    statement = DocumentKind.ENRICHED_MOVEMENT_REPORT
    contradicts = statement in (asked, found) or found is DocumentKind.CREDIT_NOTE
    if asked is not None and found is not None and asked is not found and contradicts:
        raise InvalidInput(f"{filename} is a {found.value}, not a {asked.value}")
    return asked or found  # type: ignore[return-value]


def approve(app: App, partner_id: int, document_id: int) -> Document:
    return release(app, partner_id, document_id, Lifecycle.APPROVED)


def send(app: App, partner_id: int, document_id: int) -> Document:
    return release(app, partner_id, document_id, Lifecycle.SENT)


def release(app: App, partner_id: int, document_id: int, event: Lifecycle) -> Document:
    """Approve or send: the release and its exports commit together (transactional outbox)."""
    with transaction(app.engine) as conn:
        _release(conn, partner_id, document_id, event)
        return rows.get_document(conn, partner_id, document_id)


def _release(conn: Connection, partner_id: int, document_id: int, event: Lifecycle) -> None:
    document = rows.get_document(conn, partner_id, document_id, for_update=True)
    if event is not Lifecycle.ARRIVED:
        document.release(event)
    now = utcnow()
    rows.set_released(conn, document_id, event, now)
    receiving = installation_rows.receiving_integrations(conn, partner_id, document.client_id)
    ledger.create_exports(conn, document, receiving, _receives, now)
    ledger.refresh_document_status(conn, partner_id, document_id)


def mark_processed(app: App, partner_id: int, document_ids: list[int]) -> None:
    with transaction(app.engine) as conn:
        for document_id in document_ids:
            document = rows.get_document(conn, partner_id, document_id, for_update=True)
            if document.lifecycle is Lifecycle.RECEIVED:
                raise Conflict(f"document {document_id} still waits for the client")
            rows.set_status(conn, document_id, AccountingStatus.PROCESSED)


def resend(
    app: App, partner_id: int, document_id: int, integration_ids: list[int] | None = None
) -> list[int]:
    """(Re-)send to integrations: a new export version each, never a silent duplicate."""
    with transaction(app.engine) as conn:
        document = rows.get_document(conn, partner_id, document_id, for_update=True)
        if document.lifecycle is Lifecycle.RECEIVED:
            raise Conflict(f"document {document_id} has not been released by the client yet")
        targets = installation_rows.receiving_integrations(conn, partner_id, document.client_id)
        if integration_ids is not None:
            targets = [t for t in targets if t.id in set(integration_ids)]
            if len(targets) != len(set(integration_ids)):
                raise InvalidInput("some integrations are not active for this client")
        now = utcnow()
        created = [
            ledger.create_next_version(conn, document, row, now)
            for row in targets
            if document.family in _receives(row)
        ]
        if document.accounting_status is AccountingStatus.PROCESSED:
            rows.set_status(conn, document_id, AccountingStatus.QUEUED)
        ledger.refresh_document_status(conn, partner_id, document_id)
        return created


def _receives(integration_row: Any) -> frozenset[Family]:
    """The families an integration takes: its extension's, narrowed by its own values."""
    return registry.extension(integration_row.extension).families_for(integration_row.config)


def get(app: App, partner_id: int, document_id: int) -> Document:
    with reading(app.engine) as conn:
        return rows.get_document(conn, partner_id, document_id)


def list_documents(app: App, partner_id: int, client_id: int | None = None) -> list[Document]:
    with reading(app.engine) as conn:
        return rows.list_documents(conn, partner_id, client_id)


def family_names() -> list[str]:
    return [f.value for f in Family]
