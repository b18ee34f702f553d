"""Installed extensions ("Manage"): edit, the Active toggle, the clients using one, test."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Installation, effective_config
from passeur.services import catalog, installation_usage, installations
from passeur.web import diagnosis, forms
from passeur.web.diagnosis import Diagnosis
from passeur.web.pages import is_htmx, render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()


@router.get("/installations", response_class=HTMLResponse)
def installed(request: Request, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    found = installations.list_installations(app, v.partner_id, actor=v.actor)
    counts = installation_usage.client_counts(app, v.partner_id, actor=v.actor)
    rows = [(inst, catalog.extension(inst.extension), counts.get(inst.id, 0)) for inst in found]
    return render(request, "installations/list.html", {"rows": rows}, section="installations")


@router.get("/installations/{installation_id:id}", response_class=HTMLResponse)
def installation(
    request: Request,
    installation_id: int,
    installed: bool = False,
    saved: bool = False,
    signed_in: bool = False,
    imported: int | None = None,
    v: Visitor = Depends(visitor),
) -> Response:
    inst = installations.get(the_app(request), v.partner_id, installation_id, actor=v.actor)
    notice = "installed" if installed else "saved" if saved else ""
    notice = "signed_in" if signed_in else notice
    return _page(request, v, inst, notice=notice, imported=imported)


@router.post("/installations/{installation_id:id}", response_class=HTMLResponse)
async def edit(request: Request, installation_id: int, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    inst = installations.get(app, v.partner_id, installation_id, actor=v.actor)
    ext = catalog.extension(inst.extension)
    submitted = await request.form()
    name = str(submitted.get("name", ""))[:1000]
    values = forms.parse(ext.install_fields, submitted)
    try:
        installations.update(app, v.partner_id, inst.id, values, name=name, actor=v.actor)
    except InvalidInput as exc:
        form = forms.install_form(
            ext,
            forms.shown_again(ext.install_fields, submitted),
            secrets_set=inst.secret_fields,
            **forms.refusal(exc),
        )
        name_error = str(exc) if exc.field == "name" else ""
        return _page(request, v, inst, form=form, status=400, name=name, name_error=name_error)
    return RedirectResponse(f"/installations/{inst.id}?saved=1", status_code=303)


@router.get("/installations/{installation_id:id}/active", response_class=HTMLResponse)
def confirm_active(
    request: Request, installation_id: int, on: bool, v: Visitor = Depends(visitor)
) -> Response:
    """The Active toggle asks first, saying what it touches."""
    app = the_app(request)
    inst = installations.get(app, v.partner_id, installation_id, actor=v.actor)
    impact = installation_usage.toggle_impact(app, v.partner_id, inst.id, actor=v.actor)
    context = {"inst": inst, "on": on, "impact": impact}
    return render(request, "installations/confirm_active.html", context, section="installations")


@router.post("/installations/{installation_id:id}/active")
def set_active(
    request: Request, installation_id: int, on: bool = Form(...), v: Visitor = Depends(visitor)
) -> Response:
    installations.set_active(the_app(request), v.partner_id, installation_id, on, actor=v.actor)
    return RedirectResponse(f"/installations/{installation_id}", status_code=303)


@router.post("/installations/{installation_id:id}/check", response_class=HTMLResponse)
async def check(request: Request, installation_id: int, v: Visitor = Depends(visitor)) -> Response:
    """Test connection (and, with `trust`, pin the host key the person confirmed)."""
    app = the_app(request)
    inst = installations.get(app, v.partner_id, installation_id, actor=v.actor)
    trust = await diagnosis.trust_sent(request)
    found = await diagnosis.run(
        installations.check(app, v.partner_id, inst.id, trust=trust, actor=v.actor)
    )
    if is_htmx(request):
        return diagnosis.fragment(request, found, f"/installations/{inst.id}/check")
    inst = installations.get(app, v.partner_id, installation_id, actor=v.actor)
    return _page(request, v, inst, found=found)


def _page(
    request: Request,
    v: Visitor,
    inst: Installation,
    *,
    form: forms.Form | None = None,
    found: Diagnosis | None = None,
    notice: str = "",
    status: int = 200,
    name: str | None = None,
    name_error: str = "",
    imported: int | None = None,
) -> Response:
    app = the_app(request)
    ext = catalog.extension(inst.extension)
    shown = effective_config(ext, inst.config)
    context = {
        "inst": inst,
        "ext": ext,
        "form": form or forms.install_form(ext, shown, secrets_set=inst.secret_fields),
        "users": installation_usage.clients_using(app, v.partner_id, inst.id, actor=v.actor),
        "diagnosis": found,
        "check_url": f"/installations/{inst.id}/check",
        "notice": notice,
        "name": inst.name if name is None else name,
        "name_error": name_error,
        "imported": imported,
    }
    return render(
        request, "installations/show.html", context, status=status, section="installations"
    )
