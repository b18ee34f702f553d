"""Documents: a client's folders, metadata and files; the accountant's acts (mark
processed, (re-)send) and the client's (upload, approve a purchase, send a sale).

Approving and sending are the client's own acts: the API client does them on the
client's behalf, with the rights of that client's business user (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam, Page
from passeur.api.routes.common import Input, Instant, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.access import Actor
from passeur.domain.cursors import Cursor
from passeur.domain.documents import (
    AccountingStatus,
    Direction,
    Document,
    DocumentKind,
    Folder,
    Lifecycle,
)
from passeur.domain.partners import Role
from passeur.services import documents, intake
from passeur.web.disposition import content_disposition

router = APIRouter(tags=["documents"])
READ = requires("documents:read")
WRITE = requires("documents:write")
_CHUNK = 64 * 1024


class DocumentOut(BaseModel):
    id: int
    client_id: RowId
    kind: DocumentKind
    direction: Direction | None
    folder: Folder
    filename: str
    media_type: str
    sha256: str
    size: int
    lifecycle: Lifecycle
    accounting_status: AccountingStatus
    received_at: Instant
    released_at: Instant | None
    number: str
    issue_date: str
    metadata: dict[str, Any] = Field(description="Read from the document (UBL, CODA).")
    review_reason: str = Field(
        default="", description="Why it awaits a person's review (empty: it does not)."
    )
    reviewed_at: Instant | None = None


class ResendIn(Input):
    integration_ids: list[RowId] | None = Field(
        default=None, max_length=100, description="Only these integrations (default: all)."
    )


class Resent(BaseModel):
    export_ids: list[int]


def out(d: Document) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        client_id=d.client_id,
        kind=d.kind,
        direction=d.direction,
        folder=d.folder,
        filename=d.filename,
        media_type=d.media_type,
        sha256=d.sha256,
        size=d.size,
        lifecycle=d.lifecycle,
        accounting_status=d.accounting_status,
        received_at=d.received_at,
        released_at=d.released_at,
        number=d.number,
        issue_date=d.issue_date,
        metadata=d.metadata,
        review_reason=d.review_reason,
        reviewed_at=d.reviewed_at,
    )


@router.get("/clients/{client_id}/documents", response_model=Page[DocumentOut])
def list_documents(
    client_id: PathId,
    request: Request,
    folder: Folder,
    c: ApiCaller = Depends(READ),
    status: AccountingStatus | None = Query(default=None),
    cursor: CursorParam = "",
    limit: LimitParam = 50,
) -> Page[DocumentOut]:
    """A client's documents in one folder, newest first (in one accounting status)."""
    at = Cursor.parse(cursor)
    found = documents.folder_page(
        the_app(request),
        c.partner_id,
        client_id,
        folder,
        limit=limit + 1,
        status=status,
        before_id=at.id if at is not None else None,
        actor=c.actor(),
    )
    kept = found.documents[:limit]
    more = len(found.documents) > limit
    return Page(
        items=[out(d) for d in kept], next_cursor=Cursor(kept[-1].id).token() if more else None
    )


@router.post("/clients/{client_id}/documents", response_model=DocumentOut, status_code=201)
def upload(
    client_id: PathId,
    request: Request,
    file: Annotated[UploadFile, File(description="The document (PDF, UBL, CODA…).")],
    kind: Annotated[DocumentKind | None, Form()] = None,
    direction: Annotated[Direction | None, Form()] = None,
    c: ApiCaller = Depends(WRITE),
) -> DocumentOut:
    """Add a document to a client (the client's side; intake checks it, stores it once)."""
    data = file.file.read(intake.MAX_SIZE + 1)  # one byte more tells a file too large
    made = intake.upload(
        the_app(request),
        c.partner_id,
        client_id,
        file.filename or "document",
        data,
        kind=kind,
        direction=direction,
        refuse_duplicate=True,
        actor=c.actor(),
    )
    return out(made)


class BulkOut(BaseModel):
    items: list[DocumentOut]


@router.post("/clients/{client_id}/documents/bulk", response_model=BulkOut, status_code=201)
def upload_many(
    client_id: PathId,
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(description=f"1 to {intake.BATCH_LIMIT} documents, in one body of the upload limit."),
    ],
    kind: Annotated[DocumentKind | None, Form()] = None,
    direction: Annotated[Direction | None, Form()] = None,
    c: ApiCaller = Depends(WRITE),
) -> BulkOut:
    """Add several documents to a client at once, all or none: a file intake refuses (or
    the very same file as an earlier document) is named and nothing is stored."""
    given = [(f.filename or "document", f.file.read(intake.MAX_SIZE + 1)) for f in files]
    made = intake.upload_many(
        the_app(request),
        c.partner_id,
        client_id,
        given,
        kind=kind,
        direction=direction,
        refuse_duplicate=True,
        actor=c.actor(),
    )
    return BulkOut(items=[out(d) for d in made])


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(
    document_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> DocumentOut:
    return out(documents.get(the_app(request), c.partner_id, document_id, actor=c.actor()))


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_ORIGINAL: dict[int | str, dict[str, Any]] = {
    200: {"content": {"*/*": _BINARY}, "description": "The file, with its own media type."}
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": _BINARY}, "description": "The PDF."}
}


@router.get(
    "/documents/{document_id}/original", response_class=StreamingResponse, responses=_ORIGINAL
)
def download_original(
    document_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> StreamingResponse:
    """The file as the client gave it."""
    return _file(request, c, document_id, "original")


@router.get("/documents/{document_id}/pdf", response_class=StreamingResponse, responses=_PDF)
def download_pdf(
    document_id: PathId, request: Request, c: ApiCaller = Depends(READ)
) -> StreamingResponse:
    """The document's PDF (the original, or the one inside a UBL); 404 when it has none."""
    return _file(request, c, document_id, "pdf")


@router.post("/documents/{document_id}/processed", response_model=DocumentOut)
def mark_processed(
    document_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> DocumentOut:
    app = the_app(request)
    documents.mark_processed(app, c.partner_id, [document_id], actor=c.actor())
    return out(documents.get(app, c.partner_id, document_id, actor=c.actor()))


@router.post("/documents/{document_id}/reviewed", response_model=DocumentOut)
def mark_reviewed(
    document_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> DocumentOut:
    """A person has looked at a document awaiting review (its totals do not add up): its
    exports held from accounting software go out. 409 for a document with nothing to
    review, or reviewed already."""
    done = documents.mark_reviewed(the_app(request), c.partner_id, document_id, actor=c.actor())
    return out(done)


@router.post("/documents/{document_id}/resend", response_model=Resent)
def resend(
    document_id: PathId,
    request: Request,
    body: ResendIn | None = None,
    c: ApiCaller = Depends(WRITE),
) -> Resent:
    """(Re-)send to the client's integrations: a new export version each, never a silent
    duplicate."""
    wanted = body.integration_ids if body is not None else None
    made = documents.resend(the_app(request), c.partner_id, document_id, wanted, actor=c.actor())
    return Resent(export_ids=made)


@router.post("/documents/{document_id}/approve", response_model=DocumentOut)
def approve(document_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> DocumentOut:
    """The client approves a purchase document: it goes to the client's integrations."""
    app = the_app(request)
    return out(
        documents.approve(
            app, c.partner_id, document_id, actor=_for_client(request, c, document_id)
        )
    )


@router.post("/documents/{document_id}/send", response_model=DocumentOut)
def send(document_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)) -> DocumentOut:
    """The client sends a sales document: it goes to the client's integrations."""
    app = the_app(request)
    return out(
        documents.send(app, c.partner_id, document_id, actor=_for_client(request, c, document_id))
    )


def _for_client(request: Request, c: ApiCaller, document_id: PathId) -> Actor:
    """The client's own rights, for its own acts (the document must be visible first)."""
    doc = documents.get(the_app(request), c.partner_id, document_id, actor=c.actor())
    return Actor(
        f"API client {c.name} for client {doc.client_id}",
        c.partner_id,
        frozenset({Role.BUSINESS}),
        client_id=doc.client_id,
        origin=c.origin,
    )


def _file(request: Request, c: ApiCaller, document_id: PathId, role: str) -> StreamingResponse:
    name, media_type, stream = documents.open_file(
        the_app(request), c.partner_id, document_id, role, actor=c.actor()
    )
    headers = {
        "content-disposition": content_disposition(name, inline=False),
        "cache-control": "private, no-store",
    }
    return StreamingResponse(_chunks(stream), media_type=media_type, headers=headers)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()
