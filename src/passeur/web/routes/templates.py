"""Clients → Configuration templates: the list (Mark as default, Edit, Delete), the
template's form (name and description, users to assign, integrations to add), and
applying a template to an existing client after a preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, require
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import effective_config
from passeur.domain.partners import Access
from passeur.domain.templates import ConfigurationTemplate
from passeur.services import catalog, clients, installations, partners, template_plans, templates
from passeur.web import forms
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.routes.clients import client_context, partner_visitor
from passeur.web.visitors import Visitor, the_app

router = APIRouter()
BASE = "/clients/templates"
_NOTICES = {"saved", "deleted", "default", "integration"}
FIELD_ERRORS = {
    "name": N_("Give the template a name of at most 200 characters that no other template has."),
    "description": N_("Use at most 2,000 characters."),
    "users": N_("Choose users of the firm (not a client's business users)."),
}


@router.get(BASE, response_class=HTMLResponse)
def template_list(
    request: Request, done: str = "", v: Visitor = Depends(partner_visitor)
) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    found = templates.list_templates(the_app(request), v.partner_id, actor=v.actor)
    context = {"templates": found, "notice": done if done in _NOTICES else ""}
    return render(request, "templates/list.html", context, section="clients")


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_template(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    return _form(request, v, None, {"name": "", "description": ""}, {}, {})


@router.post(BASE + "/new", response_class=HTMLResponse)
async def create_template(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    values, users = _submitted(await request.form())
    try:
        made = templates.create(
            the_app(request), v.partner_id, values["name"], values["description"],
            users=users, actor=v.actor,
        )  # fmt: skip
    except InvalidInput as exc:
        return _form(request, v, None, values, users, _errors(exc), status=400)
    return RedirectResponse(f"{BASE}/{made.id}?done=saved", status_code=303)


@router.get(BASE + "/{template_id:id}", response_class=HTMLResponse)
def edit_template(
    request: Request, template_id: int, done: str = "", v: Visitor = Depends(partner_visitor)
) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    found = templates.get(the_app(request), v.partner_id, template_id, actor=v.actor)
    values = {"name": found.name, "description": found.description}
    notice = done if done in _NOTICES else ""
    return _form(request, v, found, values, found.users, {}, notice=notice)


@router.post(BASE + "/{template_id:id}", response_class=HTMLResponse)
async def update_template(
    request: Request, template_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    app = the_app(request)
    found = templates.get(app, v.partner_id, template_id, actor=v.actor)
    values, users = _submitted(await request.form())
    try:
        templates.update(
            app, v.partner_id, template_id, values["name"], values["description"],
            users=users, actor=v.actor,
        )  # fmt: skip
    except InvalidInput as exc:
        return _form(request, v, found, values, users, _errors(exc), status=400)
    return RedirectResponse(f"{BASE}?done=saved", status_code=303)


@router.post(BASE + "/{template_id:id}/default")
def mark_default(
    request: Request, template_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    templates.mark_default(the_app(request), v.partner_id, template_id, actor=v.actor)
    return RedirectResponse(f"{BASE}?done=default", status_code=303)


@router.get(BASE + "/{template_id:id}/delete", response_class=HTMLResponse)
def confirm_delete(
    request: Request, template_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    found = templates.get(the_app(request), v.partner_id, template_id, actor=v.actor)
    return render(request, "templates/delete.html", {"template": found}, section="clients")


@router.post(BASE + "/{template_id:id}/delete")
def delete(request: Request, template_id: int, v: Visitor = Depends(partner_visitor)) -> Response:
    templates.delete(the_app(request), v.partner_id, template_id, actor=v.actor)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)


@router.get(BASE + "/{template_id:id}/integrations/new", response_class=HTMLResponse)
def integration_form(
    request: Request,
    template_id: int,
    installation: int | None = None,
    v: Visitor = Depends(partner_visitor),
) -> Response:
    """Choose an installation, then fill in the client's fields it gets from the template."""
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    app = the_app(request)
    found = templates.get(app, v.partner_id, template_id, actor=v.actor)
    choices = installations.list_installations(app, v.partner_id, actor=v.actor)
    chosen = next((i for i in choices if i.id == installation), None)
    if chosen is None:
        context = {"template": found, "choices": choices, "names": _names()}
        return render(request, "templates/choose.html", context, section="clients")
    current = {i.installation_id: i.config for i in found.integrations}.get(chosen.id, {})
    ext = catalog.extension(chosen.extension)
    form = forms.client_form(ext, current, effective_config(ext, chosen.config))
    return _integration_page(request, found, chosen, form)


@router.post(BASE + "/{template_id:id}/integrations/new", response_class=HTMLResponse)
async def save_integration(
    request: Request, template_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    require(v.actor, Action.MANAGE_TEMPLATES, v.partner_id)
    app = the_app(request)
    found = templates.get(app, v.partner_id, template_id, actor=v.actor)
    submitted = await request.form()
    inst = installations.get(app, v.partner_id, _id(submitted.get("installation")), actor=v.actor)
    ext = catalog.extension(inst.extension)
    values = forms.parse(ext.client_fields, submitted, client=True)
    try:
        templates.set_integration(app, v.partner_id, found.id, inst.id, values, actor=v.actor)
    except InvalidInput as exc:
        shown = forms.shown_again(ext.client_fields, submitted, client=True)
        form = forms.client_form(
            ext, shown, effective_config(ext, inst.config), **forms.refusal(exc)
        )
        return _integration_page(request, found, inst, form, status=400)
    return RedirectResponse(f"{BASE}/{found.id}?done=integration", status_code=303)


@router.post(BASE + "/{template_id:id}/integrations/{installation_id:id}/remove")
def remove_integration(
    request: Request, template_id: int, installation_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    templates.remove_integration(
        the_app(request), v.partner_id, template_id, installation_id, actor=v.actor
    )
    return RedirectResponse(f"{BASE}/{template_id}?done=integration", status_code=303)


@router.get("/clients/{client_id:id}/template", response_class=HTMLResponse)
def apply_preview(
    request: Request,
    client_id: int,
    template: int | None = None,
    v: Visitor = Depends(partner_visitor),
) -> Response:
    """Choose a template for this client and see what applying it would add."""
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    require(v.actor, Action.MANAGE_INTEGRATIONS, v.partner_id, client_id)
    choices = templates.list_templates(app, v.partner_id, actor=v.actor)
    plan = None
    if template is not None:
        plan = template_plans.preview(app, v.partner_id, template, client_id, actor=v.actor)
    context = {**client_context(v, client, "integrations"), "choices": choices, "plan": plan}
    return render(request, "templates/apply.html", context, section="clients")


@router.post("/clients/{client_id:id}/template", response_class=HTMLResponse)
async def apply(
    request: Request, client_id: int, v: Visitor = Depends(partner_visitor)
) -> Response:
    submitted = await request.form()
    template_plans.apply(
        the_app(request), v.partner_id, _id(submitted.get("template")), client_id, actor=v.actor
    )
    return RedirectResponse(f"/clients/{client_id}/integrations?done=template", status_code=303)


def _submitted(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[int, Access]]:
    """The name and description, and the users given an access (`access_<user id>`)."""
    values = {k: str(form.get(k) or "")[:5000] for k in ("name", "description")}
    users: dict[int, Access] = {}
    for key, raw in form.items():
        if key.startswith("access_") and raw in (Access.EDIT.value, Access.VIEW.value):
            users[_id(key.removeprefix("access_"))] = Access(raw)
    return values, users


def _form(
    request: Request,
    v: Visitor,
    template: ConfigurationTemplate | None,
    values: Mapping[str, str],
    users: Mapping[int, Access],
    errors: Mapping[str, str],
    *,
    notice: str = "",
    status: int = 200,
) -> Response:
    app = the_app(request)
    people = [u for u in partners.list_users(app, v.partner_id, actor=v.actor) if not u.is_business]
    names = {
        i.id: i.name for i in installations.list_installations(app, v.partner_id, actor=v.actor)
    }
    context = {
        "template": template,
        "values": values,
        "users": users,
        "people": people,
        "errors": errors,
        "installation_names": names,
        "notice": notice,
    }
    return render(request, "templates/form.html", context, status=status, section="clients")


def _integration_page(
    request: Request,
    template: ConfigurationTemplate,
    inst: Any,
    form: forms.Form,
    *,
    status: int = 200,
) -> Response:
    context = {"template": template, "inst": inst, "ext": catalog.extension(inst.extension)}
    context["form"] = form
    return render(request, "templates/integration.html", context, status=status, section="clients")


def _names() -> dict[str, str]:
    return {ext.slug: ext.name for ext in catalog.list_extensions()}


def _errors(exc: InvalidInput) -> dict[str, str]:
    if exc.field in FIELD_ERRORS:
        return {exc.field: FIELD_ERRORS[exc.field]}
    return {"form": N_("This request could not be used.")}


def _id(raw: Any) -> int:
    text = str(raw or "")
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("choose one of the choices offered")
    return int(text)
