"""The business space: a client's own people upload, approve and send their documents.

Only business users come here; the partner space's users get 404, as business users
get 404 on the partner space's pages (its services refuse them). Nothing here speaks of
integrations, installations or exports: those are the accountant's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.documents import Direction, DocumentKind, Lifecycle
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.services import clients, documents, intake
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

# What the person may say a file is; "" lets the content decide. Credit notes carry
# their side, which the content does not always tell.
KINDS: dict[str, tuple[str, DocumentKind | None, Direction | None]] = {
    "": (N_("Let passeur recognise it"), None, None),
    "purchase_invoice": (N_("Purchase invoice"), DocumentKind.PURCHASE_INVOICE, None),
    "sales_invoice": (N_("Sales invoice"), DocumentKind.SALES_INVOICE, None),
    "credit_note:purchase": (
        N_("Purchase credit note"),
        DocumentKind.CREDIT_NOTE,
        Direction.PURCHASE,
    ),
    "credit_note:sales": (N_("Sales credit note"), DocumentKind.CREDIT_NOTE, Direction.SALES),
    "purchase_receipt": (N_("Purchase receipt"), DocumentKind.PURCHASE_RECEIPT, None),
    "enriched_movement_report": (
        N_("Enriched Movement Report"),
        DocumentKind.ENRICHED_MOVEMENT_REPORT,
        None,
    ),
    "other": (N_("Other document"), DocumentKind.OTHER, None),
}


def own_client(v: Visitor = Depends(visitor)) -> int:
    """The business user's client; anyone else is not in a business space (404)."""
    if not v.is_business or v.user.client_id is None:
        raise NotFound("the business space is for a client's own people")
    return v.user.client_id


@router.get("/business", response_class=HTMLResponse)
def business_home(
    request: Request,
    v: Visitor = Depends(visitor),
    client_id: int = Depends(own_client),
    added: str = "",
    done: str = "",
) -> Response:
    return _page(request, v, client_id, notice=(done, added))


@router.post("/business/documents", response_class=HTMLResponse)
def upload(
    request: Request,
    v: Visitor = Depends(visitor),
    client_id: int = Depends(own_client),
    file: UploadFile | None = File(None),
    kind: str = Form("", max_length=40),
) -> Response:
    if kind not in KINDS:
        raise InvalidInput(f"unknown document type {kind!r}", field="kind")
    _, asked, side = KINDS[kind]
    if file is None or not file.filename:
        error = v._("Choose a file to upload.")
        return _page(request, v, client_id, kind=kind, error=error, status=400)
    name = file.filename
    data = file.file.read(intake.MAX_SIZE + 1)  # one byte more tells a file too large
    try:
        doc = intake.upload(
            the_app(request),
            v.partner_id,
            client_id,
            name,
            data,
            kind=asked,
            direction=side,
            actor=v.actor,
        )
    except (InvalidInput, Conflict) as exc:
        error = v._("%(file)s was not stored: %(reason)s", file=name, reason=str(exc))
        return _page(request, v, client_id, kind=kind, error=error, status=400)
    return RedirectResponse(f"/business?done=added&added={doc.id}", status_code=303)


@router.post("/business/documents/{document_id:id}/approve")
def approve(
    request: Request,
    document_id: int,
    v: Visitor = Depends(visitor),
    client_id: int = Depends(own_client),
) -> Response:
    documents.approve(the_app(request), v.partner_id, document_id, actor=v.actor)
    return RedirectResponse(f"/business?done=approved&added={document_id}", status_code=303)


@router.post("/business/documents/{document_id:id}/send")
def send(
    request: Request,
    document_id: int,
    v: Visitor = Depends(visitor),
    client_id: int = Depends(own_client),
) -> Response:
    documents.send(the_app(request), v.partner_id, document_id, actor=v.actor)
    return RedirectResponse(f"/business?done=sent&added={document_id}", status_code=303)


def _page(
    request: Request,
    v: Visitor,
    client_id: int,
    *,
    kind: str = "",
    error: str = "",
    notice: tuple[str, str] = ("", ""),
    status: int = 200,
) -> Response:
    app = the_app(request)
    found = documents.list_documents(app, v.partner_id, client_id, actor=v.actor)
    done, which = notice
    context = {
        "client": clients.get_client(app, v.partner_id, client_id, actor=v.actor),
        "documents": found,
        "kinds": {value: words for value, (words, _, _) in KINDS.items()},
        "kind": kind,
        "error": error,
        "done": done if done in ("added", "approved", "sent") else "",
        "touched": next((d for d in found if str(d.id) == which), None),
        "approve": Lifecycle.APPROVED,
        "send": Lifecycle.SENT,
        "max_mb": intake.MAX_SIZE // (1024 * 1024),
    }
    return render(request, "business/home.html", context, status=status, section="business")
