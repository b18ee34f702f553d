"""A client's Integrations tab: each integration's health; add, edit, pause, resume,
remove and test one; the live preview of a path as it is typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, may
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Installation, effective_config
from passeur.domain.partners import Client
from passeur.services import (
    catalog,
    clients,
    installations,
    integration_health,
    integrations,
)
from passeur.web import diagnosis, forms
from passeur.web.diagnosis import Diagnosis
from passeur.web.pages import is_htmx, render
from passeur.web.routes.clients import client_context
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

_NOTICES = {"added", "saved", "paused", "resumed", "deleted", "disconnected", "template"}


@router.get("/clients/{client_id:id}/integrations", response_class=HTMLResponse)
def tab(
    request: Request, client_id: int, done: str = "", v: Visitor = Depends(visitor)
) -> Response:
    return _tab(request, v, client_id, notice=done if done in _NOTICES else "")


@router.get("/clients/{client_id:id}/integrations/new", response_class=HTMLResponse)
def new(
    request: Request, client_id: int, installation: int | None = None, v: Visitor = Depends(visitor)
) -> Response:
    """Choose an installation, then fill in the client's form for it."""
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    choices = integrations.addable(app, v.partner_id, client_id, actor=v.actor)
    chosen = next((i for i in choices if i.id == installation), None)
    if chosen is None:
        context = {**client_context(v, client, "integrations"), "choices": choices}
        context["unknown"] = installation is not None
        context["names"] = {ext.slug: ext.name for ext in catalog.list_extensions()}
        return render(request, "integrations/choose.html", context, section="clients")
    ext = catalog.extension(chosen.extension)
    form = forms.client_form(ext, {}, effective_config(ext, chosen.config))
    return _form(request, v, client, chosen, form, {})


@router.post("/clients/{client_id:id}/integrations/new", response_class=HTMLResponse)
async def add(request: Request, client_id: int, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    submitted = await request.form()
    inst = installations.get(app, v.partner_id, _id(submitted.get("installation")), actor=v.actor)
    ext = catalog.extension(inst.extension)
    values = forms.parse(ext.client_fields, submitted, client=True)
    try:
        integrations.add(app, v.partner_id, client_id, inst.id, values, actor=v.actor)
    except InvalidInput as exc:
        shown = forms.shown_again(ext.client_fields, submitted, client=True)
        form = _refused_form(ext, inst, shown, exc)
        return _form(request, v, client, inst, form, values, status=400)
    return RedirectResponse(f"/clients/{client_id}/integrations?done=added", status_code=303)


@router.get("/clients/{client_id:id}/integrations/preview", response_class=HTMLResponse)
def preview(
    request: Request, client_id: int, installation: int, v: Visitor = Depends(visitor)
) -> Response:
    """The path rendered for one of the client's documents (an htmx fragment)."""
    app = the_app(request)
    inst = installations.get(app, v.partner_id, installation, actor=v.actor)
    ext = catalog.extension(inst.extension)
    values = forms.parse(ext.client_fields, request.query_params, client=True)
    shown = integrations.preview_path(app, v.partner_id, client_id, inst.id, values, actor=v.actor)
    return render(request, "integrations/preview.html", {"preview": shown})


@router.get("/integrations/{integration_id:id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    client = clients.get_client(app, v.partner_id, integ.client_id, actor=v.actor)
    inst = installations.get(app, v.partner_id, integ.installation_id, actor=v.actor)
    ext = catalog.extension(inst.extension)
    form = forms.client_form(
        ext, integ.config, effective_config(ext, inst.config), secrets_set=integ.secret_fields
    )
    return _form(request, v, client, inst, form, integ.config, integration_id=integ.id)


@router.post("/integrations/{integration_id:id}/edit", response_class=HTMLResponse)
async def edit(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    inst = installations.get(app, v.partner_id, integ.installation_id, actor=v.actor)
    ext = catalog.extension(inst.extension)
    submitted = await request.form()
    values = forms.parse(ext.client_fields, submitted, client=True)
    try:
        integrations.update(app, v.partner_id, integ.id, values, actor=v.actor)
    except InvalidInput as exc:
        client = clients.get_client(app, v.partner_id, integ.client_id, actor=v.actor)
        shown = forms.shown_again(ext.client_fields, submitted, client=True)
        form = _refused_form(ext, inst, shown, exc, secrets_set=integ.secret_fields)
        return _form(request, v, client, inst, form, values, integration_id=integ.id, status=400)
    return _back(integ.client_id, "saved")


@router.post("/integrations/{integration_id:id}/pause")
def pause(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    integ = integrations.pause(the_app(request), v.partner_id, integration_id, actor=v.actor)
    return _back(integ.client_id, "paused")


@router.post("/integrations/{integration_id:id}/resume")
def resume(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    integ = integrations.resume(the_app(request), v.partner_id, integration_id, actor=v.actor)
    return _back(integ.client_id, "resumed")


@router.get("/integrations/{integration_id:id}/remove", response_class=HTMLResponse)
def confirm_remove(
    request: Request, integration_id: int, v: Visitor = Depends(visitor)
) -> Response:
    app = the_app(request)
    impact = integrations.removal_impact(app, v.partner_id, integration_id, actor=v.actor)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    client = clients.get_client(app, v.partner_id, integ.client_id, actor=v.actor)
    inst = installations.get(app, v.partner_id, integ.installation_id, actor=v.actor)
    context = {**client_context(v, client, "integrations"), "integ": integ, "inst": inst}
    context["impact"] = impact
    return render(request, "integrations/confirm_remove.html", context, section="clients")


@router.post("/integrations/{integration_id:id}/remove")
def remove(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    app = the_app(request)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    deleted = integrations.remove(app, v.partner_id, integration_id, actor=v.actor)
    return _back(integ.client_id, "deleted" if deleted else "disconnected")


@router.post("/integrations/{integration_id:id}/test", response_class=HTMLResponse)
async def test(request: Request, integration_id: int, v: Visitor = Depends(visitor)) -> Response:
    """Test connection with this client's values (a host key it overrides is pinned on it)."""
    app = the_app(request)
    integ = integrations.get(app, v.partner_id, integration_id, actor=v.actor)
    trust = await diagnosis.trust_sent(request)
    check = installations.check(
        app,
        v.partner_id,
        integ.installation_id,
        integration_id=integ.id,
        trust=trust,
        actor=v.actor,
    )
    found = await diagnosis.run(check)
    check_url = f"/integrations/{integ.id}/test"
    if is_htmx(request):
        return diagnosis.fragment(request, found, check_url)
    return _tab(request, v, integ.client_id, found=found, check_url=check_url)


def _tab(
    request: Request,
    v: Visitor,
    client_id: int,
    *,
    notice: str = "",
    found: Diagnosis | None = None,
    check_url: str = "",
) -> Response:
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    rows = integration_health.of_client(app, v.partner_id, client_id, actor=v.actor)
    context = {
        **client_context(v, client, "integrations"),
        "rows": rows,
        "names": {ext.slug: ext.name for ext in catalog.list_extensions()},
        "may_manage": may(v.actor, Action.MANAGE_INTEGRATIONS, v.partner_id, client_id),
        "notice": notice,
        "diagnosis": found,
        "check_url": check_url,
    }
    return render(request, "clients/integrations.html", context, section="clients")


def _form(
    request: Request,
    v: Visitor,
    client: Client,
    inst: Installation,
    form: forms.Form,
    values: Mapping[str, Any],
    *,
    integration_id: int | None = None,
    status: int = 200,
) -> Response:
    """The client's form for one installation, with the path preview for its values."""
    app = the_app(request)
    ext = catalog.extension(inst.extension)
    typed = {k: str(val) for k, val in values.items()}
    shown = integrations.preview_path(app, v.partner_id, client.id, inst.id, typed, actor=v.actor)
    context = {
        **client_context(v, client, "integrations"),
        "inst": inst,
        "ext": ext,
        "form": form,
        "preview": shown,
        "preview_hook": {
            "url": f"/clients/{client.id}/integrations/preview?installation={inst.id}",
            "exclude": ",".join(["csrf_token", "installation", *form.secret_names]),
        },
        "integration_id": integration_id,
    }
    return render(request, "integrations/form.html", context, status=status, section="clients")


def _refused_form(
    ext: Extension,
    inst: Installation,
    shown: dict[str, str],
    exc: InvalidInput,
    *,
    secrets_set: frozenset[str] = frozenset(),
) -> forms.Form:
    return forms.client_form(
        ext,
        shown,
        effective_config(ext, inst.config),
        secrets_set=secrets_set,
        **forms.refusal(exc),
    )


def _back(client_id: int, done: str) -> Response:
    return RedirectResponse(f"/clients/{client_id}/integrations?done={done}", status_code=303)


def _id(raw: Any) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise InvalidInput("choose an installation", field="installation") from None
