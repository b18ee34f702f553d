"""Clients → Import clients: the template workbook in the visitor's language, the upload
(CSV or XLSX), the preview with a verdict per row, and the confirm."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from starlette.datastructures import UploadFile

from passeur.domain.access import Action, require
from passeur.domain.errors import InvalidInput
from passeur.domain.templates import Verdict
from passeur.formats.csv_table import MAX_BYTES
from passeur.services import client_import
from passeur.web.disposition import content_disposition
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.previews import shown_rows
from passeur.web.routes.clients import partner_visitor
from passeur.web.visitors import Visitor, the_app

router = APIRouter()
# The template's headers (services/client_import.py), for the catalogues.
_LABELS = [N_("Legal name"), N_("Country"), N_("Contact e-mail"), N_("Contact first name"),
           N_("Contact last name"), N_("Contact locale")]  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/clients/import", response_class=HTMLResponse)
def upload_page(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id)
    return render(request, "clients/import.html", {}, section="clients")


@router.get("/clients/import/template.xlsx")
def template_file(v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([f"{v.lang.gettext(c.label)} ({c.key})" for c in client_import.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    disposition = content_disposition(v.lang.gettext("clients") + ".xlsx", inline=False)
    return Response(out.getvalue(), media_type=XLSX, headers={"content-disposition": disposition})


@router.post("/clients/import", response_class=HTMLResponse)
async def preview(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id)
    upload = (await request.form()).get("file")
    data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data:
            raise InvalidInput("choose a CSV or Excel file")
        table = client_import.read(data)
        plan = client_import.preview(the_app(request), v.partner_id, data, actor=v.actor)
    except InvalidInput as exc:
        refusal = {"error": str(exc)}
        return render(request, "clients/import.html", refusal, status=400, section="clients")
    # The page carries the table back as CSV text: nothing is kept on the server.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows(cells for _line, cells in table.rows)
    shown, hidden = shown_rows(plan.rows)
    context = {
        "plan": plan,
        "counts": plan.counts,
        "shown": shown,
        "hidden": hidden,
        "content": out.getvalue(),
        "verdicts": Verdict,
    }
    return render(request, "clients/import_preview.html", context, section="clients")


@router.post("/clients/import/confirm")
def confirm(
    request: Request,
    content: str = Form("", max_length=MAX_BYTES),
    v: Visitor = Depends(partner_visitor),
) -> Response:
    done = client_import.confirm(the_app(request), v.partner_id, content, actor=v.actor)
    return RedirectResponse(f"/clients?status=draft&imported={len(done.to_add)}", status_code=303)
