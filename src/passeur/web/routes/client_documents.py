"""A client's documents: the folders, the bulk actions, a document's page and its files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from passeur.domain.access import Action, may
from passeur.domain.documents import AwaitingClient, Folder
from passeur.domain.errors import InvalidInput
from passeur.services import clients, documents, exports
from passeur.services.documents import FolderPage
from passeur.storage.repositories.exports import ExportFilter
from passeur.web.disposition import content_disposition
from passeur.web.pages import render
from passeur.web.routes.clients import client_context, partner_visitor
from passeur.web.summaries import day, money, summary
from passeur.web.visitors import Visitor, the_app

router = APIRouter()
PAGE_SIZE = 50
DEFAULT_FOLDER = Folder.PURCHASE_INVOICES
ACTIONS = ("processed", "resend")
_CHUNK = 256 * 1024


@router.get("/clients/{client_id:id}/documents", response_class=HTMLResponse)
def folder(
    client_id: int,
    request: Request,
    folder: str = "",
    page: str = "1",
    done: str = "",
    count: str = "",
    exported: str = "",
    v: Visitor = Depends(partner_visitor),
) -> Response:
    outcome = {"done": done, "count": _number(count, 0), "exported": _number(exported, 0)}
    return _folder(request, v, client_id, _folder_of(folder), _number(page, 1), outcome)


@router.post("/clients/{client_id:id}/documents", response_class=HTMLResponse)
def bulk_action(
    client_id: int,
    request: Request,
    action: str = Form("", max_length=20),
    folder: str = Form("", max_length=40),
    page: str = Form("1", max_length=10),
    document: list[str] = Form([]),
    v: Visitor = Depends(partner_visitor),
) -> Response:
    """Mark as processed, or (re-)send to integrations, the documents ticked."""
    chosen, number = _folder_of(folder), _number(page, 1)
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    if not all(value.isdigit() and len(value) <= 18 for value in document):
        raise InvalidInput("document ids are numbers", field="document")
    ids = [int(value) for value in document]
    if not ids:
        problem = {"message": "none"}
        return _folder(request, v, client_id, chosen, number, {}, problem, status=400)
    return _run(request, v, client_id, chosen, number, action, ids)


def _run(
    request: Request,
    v: Visitor,
    client_id: int,
    chosen: Folder,
    number: int,
    action: str,
    ids: list[int],
) -> Response:
    app = the_app(request)
    exported = 0
    try:
        if action == "processed":
            documents.mark_processed(app, v.partner_id, ids, client_id=client_id, actor=v.actor)
        else:
            exported = documents.resend_many(
                app, v.partner_id, ids, client_id=client_id, actor=v.actor
            )
    except AwaitingClient as exc:
        waiting = documents.get(app, v.partner_id, exc.document_id, actor=v.actor)
        problem = {"message": "awaiting", "action": action, "document": waiting}
        return _folder(request, v, client_id, chosen, number, {}, problem, status=409)
    query = {"folder": chosen.value, "done": action, "count": len(ids), "exported": exported}
    if number > 1:
        query["page"] = number
    return RedirectResponse(f"/clients/{client_id}/documents?{urlencode(query)}", status_code=303)


def _folder(
    request: Request,
    v: Visitor,
    client_id: int,
    chosen: Folder,
    number: int,
    outcome: dict[str, Any],
    problem: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> Response:
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    found: FolderPage = documents.folder_page(
        app,
        v.partner_id,
        client_id,
        chosen,
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        actor=v.actor,
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    base = f"/clients/{client_id}/documents?folder={chosen.value}"
    context = {
        **client_context(v, client, "documents"),
        "found": found,
        "rows": [(d, summary(d)) for d in found.documents],
        "folder": chosen,
        "number": number,
        "pages": pages,
        "previous_url": f"{base}&page={number - 1}" if number > 1 else "",
        "next_url": f"{base}&page={number + 1}" if number < pages else "",
        "may_process": may(v.actor, Action.PROCESS, v.partner_id, client_id),
        "outcome": outcome,
        "problem": problem,
    }
    return render(request, "clients/documents.html", context, status=status, section="clients")


@router.get("/documents/{document_id:id}", response_class=HTMLResponse)
def document_page(
    document_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    app = the_app(request)
    document = documents.get(app, v.partner_id, document_id, actor=v.actor)
    client = clients.get_client(app, v.partner_id, document.client_id, actor=v.actor)
    found_exports: list[dict[str, Any]] = []
    if may(v.actor, Action.SEE_EXPORTS, v.partner_id, document.client_id):
        found_exports = exports.list_exports(
            app, v.partner_id, ExportFilter(document_id=document_id, limit=200), actor=v.actor
        )
    context = {
        "document": document,
        "client": client,
        "files": documents.files(app, v.partner_id, document_id, actor=v.actor),
        "exports": found_exports,
        "folder": document.folder,
        "day": day,
        "money": money,
        "may_process": may(v.actor, Action.PROCESS, v.partner_id, document.client_id),
    }
    return render(request, "documents/document.html", context, section="clients")


@router.post("/documents/{document_id:id}/review")
def mark_reviewed(
    document_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    """A person has looked at a document whose totals do not add up: accounting software
    may book it now."""
    documents.mark_reviewed(the_app(request), v.partner_id, document_id, actor=v.actor)
    return RedirectResponse(f"/documents/{document_id}", status_code=303)


@router.get("/documents/{document_id:id}/files/{role}")
def document_file(
    document_id: int, role: str, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    """A stored file: a PDF shows in the browser; anything else downloads, sandboxed."""
    name, media_type, stream = documents.open_file(
        the_app(request), v.partner_id, document_id, role, actor=v.actor
    )
    pdf = media_type == "application/pdf"
    headers = {
        "content-disposition": content_disposition(name, inline=pdf),
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
    }
    if not pdf:
        headers["content-security-policy"] = "sandbox"
    return StreamingResponse(_chunks(stream), media_type=media_type, headers=headers)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()


def _folder_of(raw: str) -> Folder:
    return Folder(raw) if raw in set(Folder) else DEFAULT_FOLDER


def _number(raw: str, default: int) -> int:
    try:
        return min(max(int(raw), 0), 1_000_000) or default
    except ValueError:
        return default
