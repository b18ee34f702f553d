"""An integration's backfill: the dates and a dry run, then the run's progress, live
(htmx polls the page, which tops the run's window up), with Stop and Resume."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.errors import InvalidInput
from passeur.services import backfill, clients, installations, integrations
from passeur.web.pages import render
from passeur.web.routes.clients import client_context
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()


@router.get("/integrations/{integration_id:id}/backfill", response_class=HTMLResponse)
def dates(
    request: Request,
    integration_id: int,
    since: str = "",
    until: str = "",
    resend: str = "",
    v: Visitor = Depends(visitor),
) -> Response:
    """The form; with both dates, the dry run under it."""
    app = the_app(request)
    current = backfill.unfinished(app, v.partner_id, integration_id, actor=v.actor)
    context = _context(request, v, integration_id)
    values = {"since": since[:20], "until": until[:20], "resend": resend == "true"}
    context.update(values=values, current=current, preview=None, error="")
    status = 200
    if since and until:
        try:
            context["preview"] = backfill.preview(
                app, v.partner_id, integration_id, since, until,
                resend_delivered=values["resend"] is True, actor=v.actor,
            )  # fmt: skip
        except InvalidInput as exc:
            context["error"], status = str(exc), 400
    return render(request, "backfills/dates.html", context, status=status, section="clients")


@router.post("/integrations/{integration_id:id}/backfill")
def start(
    request: Request,
    integration_id: int,
    since: str = Form("", max_length=20),
    until: str = Form("", max_length=20),
    resend: str = Form("", max_length=10),
    v: Visitor = Depends(visitor),
) -> Response:
    run = backfill.start(
        the_app(request), v.partner_id, integration_id, since, until,
        resend_delivered=resend == "true", actor=v.actor,
    )  # fmt: skip
    return RedirectResponse(f"/backfills/{run.id}", status_code=303)


@router.get("/backfills/{backfill_id:id}", response_class=HTMLResponse)
def page(request: Request, backfill_id: int, v: Visitor = Depends(visitor)) -> Response:
    run = backfill.progress(the_app(request), v.partner_id, backfill_id, actor=v.actor)
    context = {**_context(request, v, run.integration_id), "run": run}
    return render(request, "backfills/progress.html", context, section="clients")


@router.post("/backfills/{backfill_id:id}/advance", response_class=HTMLResponse)
def advance(request: Request, backfill_id: int, v: Visitor = Depends(visitor)) -> Response:
    """The progress fragment, after topping the window up (what the page polls)."""
    run = backfill.advance(the_app(request), v.partner_id, backfill_id, actor=v.actor)
    return render(request, "backfills/progress.html", {"run": run}, block="progress")


@router.post("/backfills/{backfill_id:id}/stop")
def stop(request: Request, backfill_id: int, v: Visitor = Depends(visitor)) -> Response:
    backfill.stop(the_app(request), v.partner_id, backfill_id, actor=v.actor)
    return RedirectResponse(f"/backfills/{backfill_id}", status_code=303)


@router.post("/backfills/{backfill_id:id}/resume")
def resume(request: Request, backfill_id: int, v: Visitor = Depends(visitor)) -> Response:
    backfill.resume(the_app(request), v.partner_id, backfill_id, actor=v.actor)
    return RedirectResponse(f"/backfills/{backfill_id}", status_code=303)


def _context(request: Request, v: Visitor, integration_id: int) -> dict[str, object]:
    app = the_app(request)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    client = clients.get_client(app, v.partner_id, integ.client_id, actor=v.actor)
    inst = installations.get(app, v.partner_id, integ.installation_id, actor=v.actor)
    return {**client_context(v, client, "integrations"), "integ": integ, "inst": inst}
