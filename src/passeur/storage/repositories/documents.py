"""Documents and their files."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from passeur.domain.clock import utcnow
from passeur.domain.documents import (
    AccountingStatus,
    Direction,
    Document,
    DocumentKind,
    Folder,
    Lifecycle,
    folder_of,
)
from passeur.domain.errors import NotFound
from passeur.storage.id_lists import id_in
from passeur.storage.tables import document_files, documents


@dataclass(frozen=True)
class StoredFile:
    role: str
    filename: str
    media_type: str
    sha256: str
    size: int


def add_document(conn: Connection, partner_id: int, client_id: int, **values: Any) -> int:
    now = utcnow()
    row = {
        "partner_id": partner_id,
        "client_id": client_id,
        "received_at": now,
        "updated_at": now,
        **values,
    }
    pk = conn.execute(insert(documents).values(**row)).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def add_documents(
    conn: Connection, partner_id: int, client_id: int, values: list[dict[str, Any]]
) -> list[Document]:
    """Several documents of one client in one statement; the documents as stored, in the
    same order (RETURNING: intake needs no second query to hand them back)."""
    now = utcnow()
    if conn.dialect.name == "postgresql":
        return _add_documents_pg(conn, partner_id, client_id, values, now)
    rows = [
        {"partner_id": partner_id, "client_id": client_id, "received_at": now, "updated_at": now}
        | row
        for row in values
    ]
    return [to_document(r) for r in conn.execute(_ADD, rows)]


# PostgreSQL: a batch's rows bound as one JSON array (as the approval and the worker's
# record do), so the statement's text is short and the same for any batch. A VALUES list of
# 50 rows is 700 parameters whose text psycopg parses again for every batch (too long for
# its cache): about 3 ms a batch, a tenth of what a bulk upload spends per file here.
_DOCUMENT_FIELDS = {
    "kind": "text", "direction": "text", "filename": "text", "media_type": "text",
    "sha256": "text", "size": "bigint", "number": "text", "issue_date": "text",
    "metadata": "json", "lifecycle": "text", "accounting_status": "text",
    "review_reason": "text",
}  # fmt: skip
_PG_ADD = text(
    f"""INSERT INTO documents (partner_id, client_id, received_at, updated_at,
    {", ".join(_DOCUMENT_FIELDS)})
SELECT :partner_id, :client_id, :now, :now, {", ".join(f"v.{k}" for k in _DOCUMENT_FIELDS)}
FROM json_to_recordset(CAST(:rows AS json))
    AS v({", ".join(f"{k} {t}" for k, t in _DOCUMENT_FIELDS.items())}, ord integer)
ORDER BY v.ord
RETURNING documents.*"""
).bindparams(bindparam("now", type_=DateTime()))
_PG_ADD_COLUMNS = _PG_ADD.columns(*documents.c)
_FILE_FIELDS = ("document_id", "role", "filename", "media_type", "sha256", "size")
_PG_ADD_FILES = text(
    f"""INSERT INTO document_files ({", ".join(_FILE_FIELDS)})
SELECT {", ".join(f"v.{k}" for k in _FILE_FIELDS)}
FROM json_to_recordset(CAST(:rows AS json)) AS v(document_id bigint, role text,
    filename text, media_type text, sha256 text, size bigint)"""
)


def _add_documents_pg(
    conn: Connection, partner_id: int, client_id: int, values: list[dict[str, Any]], now: datetime
) -> list[Document]:
    rows = [{**{k: row.get(k) for k in _DOCUMENT_FIELDS}, "ord": n} for n, row in enumerate(values)]
    params = {
        "partner_id": partner_id,
        "client_id": client_id,
        "now": now,
        "rows": json.dumps(rows),
    }
    # Ids are drawn in the SELECT's order (ORDER BY v.ord), so id order is the batch's.
    added = sorted((to_document(r) for r in conn.execute(_PG_ADD_COLUMNS, params)), key=_id)
    if [(d.sha256, d.filename) for d in added] != [(r["sha256"], r["filename"]) for r in rows]:
        raise RuntimeError("documents came back in another order than they were given")
    return added


def _id(document: Document) -> int:
    return document.id


def add_files(conn: Connection, files: list[tuple[int, StoredFile]]) -> None:
    """Files of documents, (document id, file) each, in one statement."""
    rows = [
        {
            "document_id": document_id,
            "role": f.role,
            "filename": f.filename,
            "media_type": f.media_type,
            "sha256": f.sha256,
            "size": f.size,
        }
        for document_id, f in files
    ]
    if rows and conn.dialect.name == "postgresql":
        conn.execute(_PG_ADD_FILES, {"rows": json.dumps(rows)})
    elif rows:
        conn.execute(_ADD_FILES, rows)


# Built once at import (a bulk upload runs them per batch; see _BY_IDS below).
_ADD = insert(documents).returning(*documents.c, sort_by_parameter_order=True)
_ADD_FILES = insert(document_files)


def to_document(row: Any) -> Document:
    return Document(
        id=row.id,
        partner_id=row.partner_id,
        client_id=row.client_id,
        kind=DocumentKind(row.kind),
        direction=Direction(row.direction) if row.direction else None,
        filename=row.filename,
        media_type=row.media_type,
        sha256=row.sha256,
        size=row.size,
        lifecycle=Lifecycle(row.lifecycle),
        accounting_status=AccountingStatus(row.accounting_status),
        received_at=row.received_at,
        released_at=row.released_at,
        number=row.number,
        issue_date=row.issue_date,
        metadata=dict(row.metadata or {}),
        review_reason=row.review_reason,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
    )


def get_document(
    conn: Connection, partner_id: int, document_id: int, *, for_update: bool = False
) -> Document:
    query = select(documents).where(
        documents.c.id == document_id, documents.c.partner_id == partner_id
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"document {document_id} does not exist")
    return to_document(row)


def list_documents(
    conn: Connection,
    partner_id: int,
    client_id: int | None = None,
    limit: int = 500,
    within: Collection[int] | None = None,
) -> list[Document]:
    """Newest first; `within` narrows them to these clients (an actor's reach)."""
    query = select(documents).where(documents.c.partner_id == partner_id)
    if client_id is not None:
        query = query.where(documents.c.client_id == client_id)
    if within is not None:
        query = query.where(documents.c.client_id.in_(list(within)))
    rows = conn.execute(query.order_by(documents.c.id.desc()).limit(limit))
    return [to_document(r) for r in rows]


def files_of(conn: Connection, document_id: int) -> list[StoredFile]:
    rows = conn.execute(
        select(document_files)
        .where(document_files.c.document_id == document_id)
        .order_by(document_files.c.id)
    )
    return [StoredFile(r.role, r.filename, r.media_type, r.sha256, r.size) for r in rows]


# Built once, with the ids bound as one value (storage/id_lists.py): an approval runs
# these for every document, and building a statement cost more than running it
# (2026-12-01: about a fifth of an approval's CPU went to building its statements).
_BY_IDS = (
    select(documents)
    .where(id_in(documents.c.id), documents.c.partner_id == bindparam("partner_id"))
    .order_by(documents.c.id)
)
_BY_IDS_LOCKED = _BY_IDS.with_for_update()
_RELEASE = (
    update(documents)
    .where(id_in(documents.c.id))
    .values(
        lifecycle=bindparam("r_lifecycle"),
        released_at=bindparam("r_at"),
        accounting_status=bindparam("r_status"),
        updated_at=bindparam("r_at"),
    )
    .returning(*documents.c)
)


def get_documents(
    conn: Connection, partner_id: int, document_ids: Collection[int], *, for_update: bool = False
) -> list[Document]:
    """The partner's documents with these ids, in id order (rows locked in that order, so
    that two batches never wait on each other); NotFound names the first one missing."""
    query = _BY_IDS_LOCKED if for_update else _BY_IDS
    params = {"ids": sorted(set(document_ids)), "partner_id": partner_id}
    found = [to_document(row) for row in conn.execute(query, params)]
    check_found(document_ids, {d.id for d in found})
    return found


def check_found(document_ids: Collection[int], found: set[int]) -> None:
    """NotFound names the first id asked for that was not found."""
    missing = set(document_ids) - found
    if missing:
        first = next(i for i in document_ids if i in missing)
        raise NotFound(f"document {first} does not exist")


def set_released(
    conn: Connection,
    statuses: dict[int, AccountingStatus],
    lifecycle: Lifecycle,
    at: datetime,
) -> dict[int, Document]:
    """Release documents with their new accounting status, in a statement per status (one,
    mostly); the documents as they are now, by id."""
    by_status: dict[AccountingStatus, list[int]] = {}
    for document_id, status in statuses.items():
        by_status.setdefault(status, []).append(document_id)
    released: dict[int, Document] = {}
    for status, ids in by_status.items():
        params = {"ids": ids, "r_lifecycle": lifecycle.value, "r_at": at, "r_status": status.value}
        released |= {row.id: to_document(row) for row in conn.execute(_RELEASE, params)}
    return released


def set_status(conn: Connection, document_id: int, status: AccountingStatus) -> None:
    conn.execute(
        update(documents)
        .where(documents.c.id == document_id)
        .values(accounting_status=status.value, updated_at=utcnow())
    )


def latest_of_client(conn: Connection, partner_id: int, client_id: int) -> Document | None:
    """The client's latest released document, else its latest one (a path preview uses it)."""
    mine = select(documents).where(
        documents.c.partner_id == partner_id, documents.c.client_id == client_id
    )
    released = mine.where(documents.c.released_at.is_not(None)).order_by(
        documents.c.released_at.desc(), documents.c.id.desc()
    )
    row = conn.execute(released.limit(1)).first()
    if row is None:
        row = conn.execute(mine.order_by(documents.c.id.desc()).limit(1)).first()
    return to_document(row) if row is not None else None


def in_folder(folder: Folder) -> ColumnElement[bool]:
    """The documents of one folder, as SQL (the same mapping as domain.folder_of)."""
    kind, direction = documents.c.kind, documents.c.direction
    credit_note = kind == DocumentKind.CREDIT_NOTE.value
    match folder:
        case Folder.SALES_INVOICES:
            return or_(
                kind == DocumentKind.SALES_INVOICE.value,
                and_(credit_note, direction == Direction.SALES.value),
            )
        case Folder.PURCHASE_INVOICES:
            return or_(
                kind == DocumentKind.PURCHASE_INVOICE.value,
                and_(
                    credit_note,
                    or_(direction.is_(None), direction != Direction.SALES.value),
                ),
            )
        case Folder.PURCHASE_RECEIPTS:
            return kind == DocumentKind.PURCHASE_RECEIPT.value
        case Folder.ENRICHED_MOVEMENT_REPORTS:
            return kind == DocumentKind.ENRICHED_MOVEMENT_REPORT.value
        case Folder.OTHER_DOCUMENTS:
            return kind == DocumentKind.OTHER.value


def folder_counts(conn: Connection, partner_id: int, client_id: int) -> dict[Folder, int]:
    """How many documents the client has in each folder (every folder named, even empty)."""
    query = (
        select(documents.c.kind, documents.c.direction, func.count())
        .where(documents.c.partner_id == partner_id, documents.c.client_id == client_id)
        .group_by(documents.c.kind, documents.c.direction)
    )
    counts = dict.fromkeys(Folder, 0)
    for kind, direction, n in conn.execute(query):
        side = Direction(direction) if direction else None
        counts[folder_of(DocumentKind(kind), side)] += n
    return counts


def list_folder(
    conn: Connection,
    partner_id: int,
    client_id: int,
    folder: Folder,
    *,
    limit: int,
    offset: int = 0,
    status: AccountingStatus | None = None,
    before_id: int | None = None,
) -> list[Document]:
    """One page of a client's folder, newest first (in one accounting status, and older
    than `before_id`, when given)."""
    query = (
        select(documents)
        .where(
            documents.c.partner_id == partner_id,
            documents.c.client_id == client_id,
            in_folder(folder),
        )
        .order_by(documents.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(documents.c.accounting_status == status.value)
    if before_id is not None:
        query = query.where(documents.c.id < before_id)
    return [to_document(r) for r in conn.execute(query)]
