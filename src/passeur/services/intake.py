"""Documents in: one service for the CLI, the API and the UI.

The type comes from the content, never from the file name; a refused file stores nothing;
a likely duplicate is stored and flagged for the partner, never dropped.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

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
    review_reason,
)
from passeur.domain.errors import Conflict, Duplicate, InvalidInput
from passeur.domain.names import check_name
from passeur.domain.partners import Client, ClientStatus
from passeur.formats.inspection import kind_and_direction
from passeur.formats.intake import read_document
from passeur.formats.reading import Reading
from passeur.services.documents import release_all_in
from passeur.storage.blobs import Staged
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
    actor: Actor = OPERATOR,
    refuse_duplicate: bool = False,
) -> Document:
    """Store a client's document. Statements are released (and exported) on arrival.

    The actor's right is checked before anything is read or stored. A likely duplicate is
    stored and flagged; with `refuse_duplicate`, the very same file as an earlier document
    of the client is refused instead (Duplicate, nothing stored).
    """
    client = _client(app, partner_id, client_id, actor)
    incoming = _read(client, filename, data, kind, direction)
    original = app.blobs.put(io.BytesIO(data), max_size=MAX_SIZE)
    pdf = None
    if incoming.found.embedded_pdf:
        pdf = app.blobs.put(io.BytesIO(incoming.found.embedded_pdf), max_size=MAX_SIZE)
    with transaction(app.engine) as conn:
        [document] = _add(
            conn, partner_id, client_id, [(incoming, original, pdf)], refuse_duplicate
        )
        return document


def upload_many(
    app: App,
    partner_id: int,
    client_id: int,
    files: Sequence[tuple[str, bytes]],
    *,
    kind: DocumentKind | None = None,
    direction: Direction | None = None,
    actor: Actor = OPERATOR,
    refuse_duplicate: bool = False,
) -> list[Document]:
    """Store several documents of one client (a bulk upload) in one transaction, all or
    none: a file that is refused is named and nothing is stored. The files reach the disk
    in one flush for the whole batch instead of one per file, and the rows go in a few
    statements."""
    if not files or len(files) > BATCH_LIMIT:
        raise InvalidInput(f"give 1 to {BATCH_LIMIT} files at once", field="file")
    client = _client(app, partner_id, client_id, actor)
    originals, incoming, pdfs = _staged(app, client, files, kind, direction)
    staged = [*originals, *(p for p in pdfs if p is not None)]
    app.blobs.publish(staged)
    stored = [(b.sha256, b.size) for b in originals]
    embedded = [(p.sha256, p.size) if p is not None else None for p in pdfs]
    with transaction(app.engine) as conn:
        batch = list(zip(incoming, stored, embedded, strict=True))
        return _add(conn, partner_id, client_id, batch, refuse_duplicate)


BATCH_LIMIT = 500  # files in one bulk upload


def _staged(
    app: App,
    client: Client,
    files: Sequence[tuple[str, bytes]],
    kind: DocumentKind | None,
    direction: Direction | None,
) -> tuple[list[Staged], list[_Incoming], list[Staged | None]]:
    """Every file read first (one refused, and nothing is written), then written aside:
    the originals, the readings and the embedded PDFs. (Writing them in another thread
    while reading gained nothing measurable here: docs/decisions.md.)"""
    incoming = [_read(client, name, data, kind, direction) for name, data in files]
    staged: list[Staged] = []  # what to discard if one fails
    originals: list[Staged] = []
    pdfs: list[Staged | None] = []
    try:
        for _, data in files:
            originals.append(app.blobs.stage(data))
            staged.append(originals[-1])
        for found in incoming:
            pdf = found.found.embedded_pdf
            pdfs.append(app.blobs.stage(pdf) if pdf else None)
            staged += [p for p in pdfs[-1:] if p is not None]
    except BaseException:
        app.blobs.discard(staged)
        raise
    return originals, incoming, pdfs


@dataclass(frozen=True)
class _Incoming:
    """A file read and placed: what intake stores of it."""

    filename: str
    client_name: str
    found: Reading
    kind: DocumentKind
    direction: Direction | None
    warnings: list[str]


def _client(app: App, partner_id: int, client_id: int, actor: Actor) -> Client:
    """The client a document is uploaded for, if the actor may upload for it and it takes
    documents."""
    require(actor, Action.UPLOAD, partner_id)
    with reading(app.engine) as conn:
        client = partner_rows.get_client(conn, partner_id, client_id)
    require(actor, Action.UPLOAD, partner_id, client_id)
    if client.status is ClientStatus.ARCHIVED:
        raise Conflict(f"client {client.name} is archived")
    return client


def _read(
    client: Client,
    filename: str,
    data: bytes,
    kind: DocumentKind | None,
    direction: Direction | None,
) -> _Incoming:
    """The file read from its content, or InvalidInput; nothing is stored yet."""
    check_name(filename, "a document's file name", field="file")
    if len(data) > MAX_SIZE:
        raise InvalidInput(f"{filename} is larger than {MAX_SIZE // (1024 * 1024)} MB")
    found = read_document(data, filename)
    kind, direction, warnings = _side(found, client, kind, direction, filename)
    return _Incoming(filename, client.name, found, kind, direction, warnings)


Stored = tuple[str, int]  # a blob's SHA-256 and size


def _add(
    conn: Connection,
    partner_id: int,
    client_id: int,
    batch: list[tuple[_Incoming, Stored, Stored | None]],
    refuse_duplicate: bool = False,
) -> list[Document]:
    """The documents' rows (their files already stored) in a few statements whatever the
    batch; statements are released. The documents, in order. With `refuse_duplicate`, a
    file the client already has is refused (its blob is that earlier document's: nothing
    new is kept)."""
    new = [(sha, incoming.found) for incoming, (sha, _), _ in batch]
    earlier = _Earlier.read(conn, client_id, new)
    flagged = [earlier.duplicate(sha, found) for sha, found in new]
    for (incoming, _, _), duplicate in zip(batch, flagged, strict=True):
        if refuse_duplicate and duplicate and duplicate["reason"] == "same content":
            raise Duplicate(
                f"{incoming.filename} is already document {duplicate['document_id']} of "
                f"client {incoming.client_name} (the same file): nothing stored"
            )
    values = []
    for (incoming, (sha, size), _), duplicate in zip(batch, flagged, strict=True):
        found = incoming.found
        metadata: dict[str, Any] = {"type": found.type, **found.metadata}
        metadata["warnings"] = [*found.warnings, *incoming.warnings]
        if duplicate:
            metadata["duplicate_of"] = duplicate
        family = family_of(incoming.kind, incoming.direction)
        values.append(
            {
                "kind": incoming.kind.value,
                "direction": incoming.direction.value if incoming.direction else None,
                "filename": incoming.filename[:255],
                "media_type": found.media_type,
                "sha256": sha,
                "size": size,
                "number": found.number[:100],
                "issue_date": found.issue_date[:10],
                "metadata": metadata,
                "lifecycle": Lifecycle.RECEIVED.value,
                "accounting_status": initial_status(family).value,
                "review_reason": review_reason(metadata),
            }
        )
    added = rows.add_documents(conn, partner_id, client_id, values)
    ids = [d.id for d in added]
    changed = earlier.flag_repeats_within(conn, ids, new, flagged)
    files = []
    for document_id, (incoming, (sha, size), pdf) in zip(ids, batch, strict=True):
        name, media_type = incoming.filename, incoming.found.media_type
        files.append((document_id, rows.StoredFile("original", name, media_type, sha, size)))
        if pdf is not None:
            stem = name.rsplit(".", 1)[0]
            files.append(
                (document_id, rows.StoredFile("pdf", f"{stem}.pdf", "application/pdf", *pdf))
            )
    rows.add_files(conn, files)
    statements = [
        document_id
        for document_id, (incoming, _, _) in zip(ids, batch, strict=True)
        if initial_lifecycle(family_of(incoming.kind, incoming.direction)) is Lifecycle.ARRIVED
    ]
    if statements:
        release_all_in(conn, partner_id, statements, Lifecycle.ARRIVED)
    changed |= set(statements)
    if not changed:  # mostly: the rows as inserted are the documents
        return added
    again = {d.id: d for d in rows.get_documents(conn, partner_id, changed)}
    return [again.get(d.id, d) for d in added]


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


@dataclass
class _Earlier:
    """The client's earlier documents a new one may repeat: the same content, or the same
    supplier, number and amount (read once for a whole batch)."""

    by_content: dict[str, int]  # sha256: the first document with it
    by_number: dict[
        str, list[tuple[int, tuple[str, str] | None]]
    ]  # number: (id, supplier and total)

    @classmethod
    def read(cls, conn: Connection, client_id: int, new: list[tuple[str, Reading]]) -> _Earlier:
        shas = {sha for sha, _ in new}
        by_content: dict[str, int] = {}
        same = (
            select(documents_table.c.id, documents_table.c.sha256)
            .where(documents_table.c.client_id == client_id, documents_table.c.sha256.in_(shas))
            .order_by(documents_table.c.id)
        )
        for row in conn.execute(same):
            by_content.setdefault(row.sha256, row.id)
        numbers = {found.number for _, found in new if _by_number(found)}
        by_number: dict[str, list[tuple[int, tuple[str, str] | None]]] = {}
        if numbers:
            numbered = (
                select(documents_table.c.id, documents_table.c.number, documents_table.c.metadata)
                .where(
                    documents_table.c.client_id == client_id,
                    documents_table.c.number.in_(numbers),
                )
                .order_by(documents_table.c.id)
            )
            for found_row in conn.execute(numbered):
                entry = (found_row.id, _supplier_and_total(found_row.metadata or {}))
                by_number.setdefault(found_row.number, []).append(entry)
        return cls(by_content, by_number)

    def duplicate(self, sha256: str, found: Reading) -> dict[str, Any] | None:
        """The earlier document this one likely repeats."""
        if sha256 in self.by_content:
            return {"document_id": self.by_content[sha256], "reason": "same content"}
        if not _by_number(found):
            return None
        mine = _supplier_and_total(found.metadata)
        for document_id, theirs in self.by_number.get(found.number, []):
            if mine is not None and theirs == mine:
                return {"document_id": document_id, "reason": "same supplier, number and amount"}
        return None

    def flag_repeats_within(
        self,
        conn: Connection,
        ids: list[int],
        new: list[tuple[str, Reading]],
        flagged: list[dict[str, Any] | None],
    ) -> set[int]:
        """A document that repeats an earlier one of the same batch (rare), and was not
        flagged as repeating an older one, is flagged once the batch has ids, as if it had
        been uploaded on its own after the other. The ids of those flagged."""
        changed: set[int] = set()
        for document_id, (sha, found), already in zip(ids, new, flagged, strict=True):
            repeated = None if already else self.duplicate(sha, found)
            if repeated is not None:
                _flag(conn, document_id, repeated)
                changed.add(document_id)
            self.by_content.setdefault(sha, document_id)
            if _by_number(found):
                entry = (document_id, _supplier_and_total(found.metadata))
                self.by_number.setdefault(found.number, []).append(entry)
        return changed


def _by_number(found: Reading) -> bool:
    return bool(found.number) and found.type in ("ubl", "efff")


def _flag(conn: Connection, document_id: int, duplicate: dict[str, Any]) -> None:
    row = conn.execute(
        select(documents_table.c.metadata).where(documents_table.c.id == document_id)
    ).one()
    metadata = {**(row.metadata or {}), "duplicate_of": duplicate}
    conn.execute(
        update(documents_table).where(documents_table.c.id == document_id).values(metadata=metadata)
    )


def _supplier_and_total(metadata: dict[str, Any]) -> tuple[str, str] | None:
    supplier = metadata.get("supplier") or {}
    who = supplier.get("vat") or supplier.get("enterprise_number") or supplier.get("name")
    total = (metadata.get("totals") or {}).get("payable")
    return (str(who), str(total)) if who and total else None


def _named(kind: DocumentKind) -> str:
    words = kind.value.replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"
