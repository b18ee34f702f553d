"""An installation's "Add to clients from a file" (bulk activation): the template file in
the visitor's language, the upload, the preview with a verdict per row, and the confirm
that adds every valid row at once. Cancelling is leaving the preview: nothing was saved."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from passeur.domain.access import Action, require
from passeur.domain.errors import InvalidInput
from passeur.domain.templates import Verdict
from passeur.formats.csv_table import MAX_BYTES, decode
from passeur.services import catalog, installations, integration_import
from passeur.web.disposition import content_disposition
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.previews import shown_rows
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()
N_("Client reference")  # the template file's first column (services/integration_import.py)


@router.get("/installations/{installation_id:id}/import", response_class=HTMLResponse)
def upload_page(request: Request, installation_id: int, v: Visitor = Depends(visitor)) -> Response:
    require(v.actor, Action.MANAGE_INTEGRATIONS, v.partner_id)
    inst = installations.get(the_app(request), v.partner_id, installation_id, actor=v.actor)
    return render(request, "installations/import.html", {"inst": inst}, section="installations")


@router.get("/installations/{installation_id:id}/import/template.csv")
def template_file(
    request: Request, installation_id: int, v: Visitor = Depends(visitor)
) -> Response:
    """The header row in the visitor's language, each column's key in brackets (so a file
    filled in in any language is read the same); semicolons where Excel expects them."""
    require(v.actor, Action.MANAGE_INTEGRATIONS, v.partner_id)
    inst = installations.get(the_app(request), v.partner_id, installation_id, actor=v.actor)
    ext = catalog.extension(inst.extension)
    out = io.StringIO()
    delimiter = "," if v.lang.code == "en" else ";"
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(f"{v.lang.gettext(c.label)} ({c.key})" for c in integration_import.columns(ext))
    name = f"{inst.name}-clients.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": content_disposition(name, inline=False)},
    )


@router.post("/installations/{installation_id:id}/import", response_class=HTMLResponse)
async def preview(
    request: Request, installation_id: int, v: Visitor = Depends(visitor)
) -> Response:
    require(v.actor, Action.MANAGE_INTEGRATIONS, v.partner_id)
    app = the_app(request)
    inst = installations.get(app, v.partner_id, installation_id, actor=v.actor)
    upload = (await request.form()).get("file")
    data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data:
            raise InvalidInput("choose a CSV file")
        plan = integration_import.preview(app, v.partner_id, inst.id, data, actor=v.actor)
    except InvalidInput as exc:
        context = {"inst": inst, "error": str(exc)}
        return render(
            request, "installations/import.html", context, status=400, section="installations"
        )
    shown, hidden = shown_rows(plan.rows)
    context = {
        "inst": inst,
        "plan": plan,
        "counts": plan.counts,
        "shown": shown,
        "hidden": hidden,
        "content": decode(data),
        "verdicts": Verdict,
    }
    return render(request, "installations/import_preview.html", context, section="installations")


@router.post("/installations/{installation_id:id}/import/confirm")
def confirm(
    request: Request,
    installation_id: int,
    content: str = Form("", max_length=MAX_BYTES),
    v: Visitor = Depends(visitor),
) -> Response:
    done = integration_import.confirm(
        the_app(request), v.partner_id, installation_id, content, actor=v.actor
    )
    url = f"/installations/{installation_id}?imported={len(done.to_add)}"
    return RedirectResponse(url, status_code=303)
