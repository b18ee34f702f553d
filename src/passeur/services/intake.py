"""Documents in: one service for the CLI, the API and the UI.

The type comes from the content, never from the file name; a refused file stores nothing;
a likely duplicate is stored and flagged for the partner, never dropped.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import Connection, select

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.documents import (
    Direction,
    Document,
    DocumentKind,
    Lifecycle,
    family_of,
    initial_lifecycle,
    initial_status,
)
from passeur.domain.errors import Conflict, Duplicate, InvalidInput
from passeur.domain.names import check_name
from passeur.domain.partners import Client, ClientStatus
from passeur.formats.inspection import kind_and_direction
from passeur.formats.intake import read_document
from passeur.formats.reading import Reading
from passeur.services.documents import release_in
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.tables import documents as documents_table

MAX_SIZE = 50 * 1024 * 1024
KINDS = ", ".join(k.value for k in DocumentKind if k is not DocumentKind.ENRICHED_MOVEMENT_REPORT)


def upload(
    app: App,
    partner_id: int,
    client_id: int,
    filename: str,
    data: bytes,
    *,
    kind: DocumentKind | None = None,
    direction: Direction | None = None,
    refuse_duplicate: bool = False,
    actor: Actor = OPERATOR,
) -> Document:
    """Store a client's document. Statements are released (and exported) on arrival.

    The actor's right is checked before anything is read or stored. A likely duplicate is
    stored and flagged; with `refuse_duplicate`, the very same file as an earlier document
    of the client is refused instead (Duplicate, nothing stored).
    """
    require(actor, Action.UPLOAD, partner_id)
    with reading(app.engine) as conn:
        client = partner_rows.get_client(conn, partner_id, client_id)
    require(actor, Action.UPLOAD, partner_id, client_id)
    check_name(filename, "a document's file name", field="file")
    if len(data) > MAX_SIZE:
        raise InvalidInput(f"{filename} is larger than {MAX_SIZE // (1024 * 1024)} MB")
    if client.status is ClientStatus.ARCHIVED:
        raise Conflict(f"client {client.name} is archived")
    found = read_document(data, filename)
    kind, direction, warnings = _side(found, client, kind, direction, filename)
    family = family_of(kind, direction)
    sha, size = app.blobs.put(io.BytesIO(data), max_size=MAX_SIZE)
    pdf = None
    if found.embedded_pdf:
        pdf = app.blobs.put(io.BytesIO(found.embedded_pdf), max_size=MAX_SIZE)
    with transaction(app.engine) as conn:
        duplicate = _likely_duplicate(conn, client_id, sha, found)
        if refuse_duplicate and duplicate and duplicate["reason"] == "same content":
            raise Duplicate(
                f"{filename} is already document {duplicate['document_id']} of client "
                f"{client.name} (the same file): nothing stored"
            )
        metadata: dict[str, Any] = {"type": found.type, **found.metadata}
        metadata["warnings"] = [*found.warnings, *warnings]
        if duplicate:
            metadata["duplicate_of"] = duplicate
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
            metadata=metadata,
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
            release_in(conn, partner_id, document_id, Lifecycle.ARRIVED)
        return rows.get_document(conn, partner_id, document_id)


def _side(
    found: Reading,
    client: Client,
    asked: DocumentKind | None,
    direction: Direction | None,
    filename: str,
) -> tuple[DocumentKind, Direction | None, list[str]]:
    """The kind and side of the document: what the person said, checked against the content.

    An invoice names its supplier and customer: when the client is one of them, the content
    decides purchase or sale, and a contradicting kind is refused (it would land in the
    wrong folder).
    """
    seen_kind, seen_direction, warnings = kind_and_direction(
        found, client_vat=client.vat_number, client_enterprise_number=client.uen_number
    )
    if asked is None and seen_kind is None:
        raise InvalidInput(f"say what {filename} is ({KINDS})")
    kind = asked or seen_kind
    assert kind is not None
    if seen_kind is not None and asked is not None and asked is not seen_kind:
        statement = DocumentKind.ENRICHED_MOVEMENT_REPORT
        families_differ = seen_direction is not None and family_of(
            asked, direction or seen_direction
        ) is not family_of(seen_kind, seen_direction)
        if (
            statement in (asked, seen_kind)
            or seen_kind is DocumentKind.CREDIT_NOTE
            or (families_differ)
        ):
            raise InvalidInput(f"{filename} is {_named(seen_kind)}, not {_named(asked)}")
    if direction is not None and seen_direction is not None and direction is not seen_direction:
        raise InvalidInput(
            f"{filename} names {client.name} as "
            f"{'supplier' if seen_direction is Direction.SALES else 'customer'}: "
            f"it is a {seen_direction.value} document"
        )
    direction = direction or seen_direction
    if kind is DocumentKind.CREDIT_NOTE and direction is None:
        raise InvalidInput(
            f"say whether {filename} is a purchase or a sales credit note "
            f"(the client is neither its supplier nor its customer)"
        )
    return kind, direction, warnings


def _likely_duplicate(
    conn: Connection, client_id: int, sha256: str, found: Reading
) -> dict[str, Any] | None:
    """An earlier document of the client with the same content, or the same supplier,
    number and amount."""
    same_content = conn.execute(
        select(documents_table.c.id)
        .where(documents_table.c.client_id == client_id, documents_table.c.sha256 == sha256)
        .order_by(documents_table.c.id)
        .limit(1)
    ).scalar()
    if same_content is not None:
        return {"document_id": same_content, "reason": "same content"}
    if not found.number or found.type not in ("ubl", "efff"):
        return None
    candidates = conn.execute(
        select(documents_table.c.id, documents_table.c.metadata).where(
            documents_table.c.client_id == client_id, documents_table.c.number == found.number
        )
    ).all()
    mine = _supplier_and_total(found.metadata)
    for candidate in candidates:
        if mine is not None and _supplier_and_total(candidate.metadata or {}) == mine:
            return {"document_id": candidate.id, "reason": "same supplier, number and amount"}
    return None


def _supplier_and_total(metadata: dict[str, Any]) -> tuple[str, str] | None:
    supplier = metadata.get("supplier") or {}
    who = supplier.get("vat") or supplier.get("enterprise_number") or supplier.get("name")
    total = (metadata.get("totals") or {}).get("payable")
    return (str(who), str(total)) if who and total else None


def _named(kind: DocumentKind) -> str:
    words = kind.value.replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"
