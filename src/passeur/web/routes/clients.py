"""Clients: the list (search, filters, pages, integration health), add, edit and archive."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, may, require
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.health import Health
from passeur.domain.partners import CLIENT_TRANSITIONS, Client, ClientStatus
from passeur.domain.templates import ConfigurationTemplate
from passeur.services import clients, templates
from passeur.services.clients import ClientFilter
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()
PAGE_SIZE = 50

# The status filter: archived clients are hidden unless asked for.
STATUS_FILTERS: list[tuple[str, str, tuple[ClientStatus, ...]]] = [
    ("", N_("All but archived"), (ClientStatus.DRAFT, ClientStatus.INVITED, ClientStatus.ACTIVE)),
    ("active", N_("Active"), (ClientStatus.ACTIVE,)),
    ("inactive", N_("Inactive (draft or invited)"), (ClientStatus.DRAFT, ClientStatus.INVITED)),
    ("draft", N_("Draft"), (ClientStatus.DRAFT,)),
    ("invited", N_("Invited"), (ClientStatus.INVITED,)),
    ("archived", N_("Archived"), (ClientStatus.ARCHIVED,)),
    ("all", N_("All"), ()),
]
# What the form says when a service refuses a field (its own message is for logs and CLI).
FIELD_ERRORS = {
    "name": N_("Give the client a name of at most 200 characters."),
    "uen_number": N_(
        "This is not a valid enterprise number: 10 digits starting with 0 or 1, e.g. 0403.170.701."
    ),
    "vat_number": N_(
        "This is not a valid VAT number: start with the country code, e.g. BE0403170701."
    ),
    "external_ref": N_("Use at most 40 letters, digits, dots, dashes or underscores."),
    "status": N_("Choose one of the statuses offered."),
    "template": N_("This configuration template cannot be applied to this client:"),
}
NO_TEMPLATE = "none"
NEW_STATUSES = (ClientStatus.DRAFT, ClientStatus.ACTIVE)


def partner_visitor(v: Visitor = Depends(visitor)) -> Visitor:
    """A visitor of the partner space: a client's business users have their own space."""
    if v.is_business:
        raise NotFound("the partner space is not for business users")
    return v


def client_context(v: Visitor, client: Client, tab: str) -> dict[str, Any]:
    """What templates/clients/page.html needs: the client, its tab, what the visitor may do."""
    pid = v.partner_id
    return {
        "client": client,
        "tab": tab,
        "may_manage_client": may(v.actor, Action.MANAGE_CLIENTS, pid, client.id)
        and client.status is not ClientStatus.ARCHIVED,
        "show_documents": may(v.actor, Action.SEE_DOCUMENTS, pid, client.id),
        "show_integrations": may(v.actor, Action.SEE_INTEGRATIONS, pid, client.id),
        "show_audit": may(v.actor, Action.SEE_AUDIT, pid, client.id),
    }


@router.get("/clients", response_class=HTMLResponse)
def client_list(
    request: Request,
    q: str = "",
    status: str = "",
    health: str = "",
    page: str = "1",
    imported: str = "",
    v: Visitor = Depends(partner_visitor),
) -> Response:
    q = q.strip()[:200]
    statuses = dict((key, chosen) for key, _label, chosen in STATUS_FILTERS)
    status = status if status in statuses else ""
    wanted = Health(health) if health in set(Health) else None
    number = _page_number(page)
    found = clients.client_page(
        the_app(request),
        v.partner_id,
        ClientFilter(q, statuses[status], wanted),
        offset=(number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        actor=v.actor,
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    filters = {"q": q, "status": status, "health": wanted.value if wanted else ""}
    context = {
        "page": found,
        "number": number,
        "pages": pages,
        "filters": filters,
        "status_filters": STATUS_FILTERS,
        "healths": list(Health),
        "may_add": may(v.actor, Action.MANAGE_CLIENTS, v.partner_id),
        "may_templates": may(v.actor, Action.MANAGE_TEMPLATES, v.partner_id),
        "imported": int(imported) if imported.isdigit() and len(imported) < 7 else None,
        "previous_url": _list_url(filters, number - 1) if number > 1 else "",
        "next_url": _list_url(filters, number + 1) if number < pages else "",
    }
    block = "table" if _partial(request) else None
    return render(request, "clients/list.html", context, block=block, section="clients")


@router.get("/clients/new", response_class=HTMLResponse)
def new_client_form(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id)
    choices = _templates(request, v)
    default = next((str(t.id) for t in choices if t.is_default), NO_TEMPLATE)
    values = {**_values("", "", "", "", "draft"), "template": default}
    return _form(request, None, values, {}, choices=choices)


@router.post("/clients/new", response_class=HTMLResponse)
def create_client(
    request: Request,
    name: str = Form("", max_length=1000),
    uen_number: str = Form("", max_length=100),
    vat_number: str = Form("", max_length=100),
    external_ref: str = Form("", max_length=100),
    status: str = Form("draft", max_length=20),
    template: str = Form("", max_length=20),
    v: Visitor = Depends(partner_visitor),
) -> Response:
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id)
    values = {**_values(name, uen_number, vat_number, external_ref, status), "template": template}
    save = partial(
        clients.create_client,
        the_app(request),
        v.partner_id,
        template=_template_choice(template),
        actor=v.actor,
    )
    return _saved(request, None, values, save, choices=_templates(request, v))


@router.get("/clients/{client_id:id}", response_class=HTMLResponse)
def client_page(
    client_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    client = clients.get_client(the_app(request), v.partner_id, client_id, actor=v.actor)
    documents = may(v.actor, Action.SEE_DOCUMENTS, v.partner_id, client.id)
    tab = "documents" if documents else "team"
    return RedirectResponse(f"/clients/{client.id}/{tab}", status_code=303)


@router.get("/clients/{client_id:id}/edit", response_class=HTMLResponse)
def edit_client_form(
    client_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    client = _manageable(request, v, client_id)
    values = _values(
        client.name, client.uen_number, client.vat_number, client.external_ref, client.status.value
    )
    return _form(request, client, values, {})


@router.post("/clients/{client_id:id}/edit", response_class=HTMLResponse)
def update_client(
    client_id: int,
    request: Request,
    name: str = Form("", max_length=1000),
    uen_number: str = Form("", max_length=100),
    vat_number: str = Form("", max_length=100),
    external_ref: str = Form("", max_length=100),
    status: str = Form("", max_length=20),
    v: Visitor = Depends(partner_visitor),
) -> Response:
    client = _manageable(request, v, client_id)
    values = _values(name, uen_number, vat_number, external_ref, status or client.status.value)
    save = partial(clients.update_client, the_app(request), v.partner_id, client_id, actor=v.actor)
    return _saved(request, client, values, save)


@router.get("/clients/{client_id:id}/archive", response_class=HTMLResponse)
def archive_confirmation(
    client_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    app = the_app(request)
    client = _manageable(request, v, client_id)
    count = clients.integrations_to_disconnect(app, v.partner_id, client_id, actor=v.actor)
    context = {**client_context(v, client, ""), "integrations": count}
    return render(request, "clients/archive.html", context, section="clients")


@router.post("/clients/{client_id:id}/archive")
def archive(client_id: int, request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    clients.change_status(
        the_app(request), v.partner_id, client_id, ClientStatus.ARCHIVED, actor=v.actor
    )
    return RedirectResponse(f"/clients/{client_id}", status_code=303)


def _manageable(request: Request, v: Visitor, client_id: int) -> Client:
    """The client, when the visitor may change it: a refusal reads as not found on a page,
    as forbidden on a form sent (app.py), before any input is looked at."""
    client = clients.get_client(the_app(request), v.partner_id, client_id, actor=v.actor)
    require(v.actor, Action.MANAGE_CLIENTS, v.partner_id, client_id)
    return client


def _values(
    name: str, uen_number: str, vat_number: str, external_ref: str, status: str
) -> dict[str, str]:
    """The client form's fields, as shown back to the visitor."""
    return {
        "name": name,
        "uen_number": uen_number,
        "vat_number": vat_number,
        "external_ref": external_ref,
        "status": status,
    }


def _saved(
    request: Request,
    client: Client | None,
    values: dict[str, str],
    save: Callable[..., Client],
    *,
    choices: Sequence[ConfigurationTemplate] = (),
) -> Response:
    """Add (no client yet) or change a client from the form's values: the client's page,
    or the form again with what was refused."""
    statuses = NEW_STATUSES if client is None else _edit_statuses(client)
    try:
        saved = save(
            values["name"],
            uen_number=values["uen_number"],
            vat_number=values["vat_number"],
            external_ref=values["external_ref"],
            status=_status(values["status"], statuses),
        )
    except InvalidInput as exc:
        return _form(request, client, values, _errors(exc), status=400, choices=choices)
    return RedirectResponse(f"/clients/{saved.id}", status_code=303)


def _form(
    request: Request,
    client: Client | None,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    choices: Sequence[ConfigurationTemplate] = (),
) -> Response:
    statuses = NEW_STATUSES if client is None else _edit_statuses(client)
    context = {
        "client": client,
        "values": values,
        "errors": errors,
        "statuses": statuses,
        "archived": client is not None and client.status is ClientStatus.ARCHIVED,
        "templates": choices,
    }
    return render(request, "clients/form.html", context, status=status, section="clients")


def _edit_statuses(client: Client) -> tuple[ClientStatus, ...]:
    """The statuses an edit may set: the current one and where it may go (archiving has
    its own confirmation)."""
    onward = CLIENT_TRANSITIONS[client.status] - {ClientStatus.ARCHIVED, client.status}
    return (client.status, *sorted(onward, key=list(ClientStatus).index))


def _status(value: str, allowed: tuple[ClientStatus, ...]) -> ClientStatus:
    if value not in {s.value for s in allowed}:
        raise InvalidInput(f"status must be one of {', '.join(allowed)}", field="status")
    return ClientStatus(value)


def _templates(request: Request, v: Visitor) -> list[ConfigurationTemplate]:
    """The templates a new client may be created with (for who may see them)."""
    if not may(v.actor, Action.SEE_TEMPLATES, v.partner_id):
        return []
    return templates.list_templates(the_app(request), v.partner_id, actor=v.actor)


def _template_choice(raw: str) -> int | Literal["default"] | None:
    """The form's choice: a template's id, "none", or nothing sent (the default)."""
    if raw == NO_TEMPLATE:
        return None
    if raw == "":
        return clients.DEFAULT_TEMPLATE
    if not raw.isdigit():
        raise InvalidInput("choose one of the templates offered", field="template")
    return int(raw)


def _errors(exc: InvalidInput) -> dict[str, str]:
    if exc.field == "template":  # the template's own reason, which names what to fix
        return {"template": FIELD_ERRORS["template"], "template_detail": str(exc)}
    if exc.field in FIELD_ERRORS:
        return {exc.field: FIELD_ERRORS[exc.field]}
    return {"form": N_("This request could not be used.")}


def _page_number(raw: str) -> int:
    try:
        return min(max(int(raw), 1), 1_000_000)
    except ValueError:
        return 1


def _list_url(filters: dict[str, str], number: int) -> str:
    query = {k: val for k, val in filters.items() if val}
    if number > 1:
        query["page"] = str(number)
    return "/clients" + (f"?{urlencode(query)}" if query else "")


def _partial(request: Request) -> bool:
    """An htmx swap of the table; a history restore needs the whole page."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )
