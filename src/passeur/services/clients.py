"""The businesses a partner serves.

Every call takes the actor asking (default: the operator, for the CLI and the demo); the
rules are in domain/access.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, may, require
from passeur.domain.audit import Change
from passeur.domain.clock import utcnow
from passeur.domain.errors import Conflict, Duplicate, InvalidInput, NotFound
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.health import ClientHealth
from passeur.domain.partners import (
    CLIENT_TRANSITIONS,
    Client,
    ClientStatus,
    normalise_enterprise_number,
    normalise_vat_number,
    validate_client_name,
    validate_external_ref,
)
from passeur.domain.templates import ConfigurationTemplate
from passeur.services import audit, template_plans
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import client_list
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as rows
from passeur.storage.repositories import templates as template_rows
from passeur.storage.repositories.client_list import ClientFilter

DEFAULT_TEMPLATE: Literal["default"] = "default"  # the partner's default template, if any


def create_client(
    app: App,
    partner_id: int,
    name: str,
    *,
    uen_number: str = "",
    vat_number: str = "",
    external_ref: str = "",
    status: ClientStatus = ClientStatus.DRAFT,
    template: int | Literal["default"] | None = DEFAULT_TEMPLATE,
    refuse_duplicate: bool = False,
    actor: Actor = OPERATOR,
) -> Client:
    """Add a client with the configuration template given (by default the partner's
    default template, if any; None: none): its users and integrations come in the same
    transaction, and a template that cannot be applied to this client adds nothing. With
    `refuse_duplicate`, a client of the partner with the same enterprise number is refused
    (Duplicate, nothing created)."""
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    if template is not None:
        require(actor, Action.SEE_TEMPLATES, partner_id)
    values = {
        **_checked(name, uen_number, vat_number, external_ref),
        "status": ClientStatus(status).value,
    }
    vetted = None
    if template is not None:  # targets that check values are asked before the transaction
        with reading(app.engine) as conn:
            wanted = _template(conn, partner_id, template)
        if wanted is not None:
            vetted = template_plans.vet_template(app, partner_id, wanted)
    with transaction(app.engine) as conn:
        rows.get_partner(conn, partner_id)
        same = refuse_duplicate and rows.clients_with_enterprise_number(
            conn, partner_id, values["uen_number"]
        )
        if same:
            raise Duplicate(
                f"client {same[0].id} {same[0].name} already has enterprise number "
                f"{values['uen_number']}: nothing created"
            )
        chosen = _template(conn, partner_id, template)
        client = rows.add_client(conn, partner_id, **values)
        after = {**state_of(client), "template": chosen.name if chosen else None}
        audit.record(conn, partner_id, actor, change_of("client.create", client, {}, after))
        if chosen is not None:
            template_plans.apply_within(app, conn, chosen, client, vetted, actor=actor)
        return client


def state_of(client: Client) -> dict[str, Any]:
    """A client as the audit trail keeps it (a client's details hold no secret)."""
    return {
        "name": client.name,
        "uen_number": client.uen_number,
        "vat_number": client.vat_number,
        "external_ref": client.external_ref,
        "status": client.status.value,
        "contact_email": client.contact_email,
    }


def change_of(action: str, client: Client, before: dict[str, Any], after: dict[str, Any]) -> Change:
    return Change(action, client.id, before, after, client_id=client.id)


def _template(
    conn: Connection, partner_id: int, template: int | Literal["default"] | None
) -> ConfigurationTemplate | None:
    if template == DEFAULT_TEMPLATE:
        return template_rows.default_template(conn, partner_id)
    if template is None:
        return None
    try:
        return template_rows.get_template(conn, partner_id, int(template))
    except NotFound:
        raise InvalidInput(
            f"configuration template {template} does not exist", field="template"
        ) from None


def list_clients(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Client]:
    """The clients the actor may see: all of them, the assigned ones, or their own."""
    within = clients_within(actor, Action.SEE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        return rows.list_clients(conn, partner_id, within)


def client_choices(
    app: App, partner_id: int, search: str = "", *, limit: int = 200, actor: Actor = OPERATOR
) -> list[tuple[int, str]]:
    """Up to `limit` of the clients the actor may see, as (id, name) by name, matching
    `search` (name, numbers or reference) when given: what a filter offers to choose."""
    within = clients_within(actor, Action.SEE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        return client_list.names(conn, partner_id, within, search=search, limit=limit)


def get_client(app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR) -> Client:
    require(actor, Action.SEE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        client = rows.get_client(conn, partner_id, client_id)
    require(actor, Action.SEE_CLIENTS, partner_id, client_id)
    return client


def change_status(
    app: App,
    partner_id: int,
    client_id: int,
    status: ClientStatus,
    *,
    actor: Actor = OPERATOR,
) -> Client:
    """Move a client along draft → invited → active → archived.

    Archiving disconnects the client's integrations (product.md §1.2): a new accountant
    sets up their own.
    """
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    with transaction(app.engine) as conn:
        client = rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_CLIENTS, partner_id, client_id)
        _move(conn, client, status)
        changed = rows.get_client(conn, partner_id, client_id)
        change = change_of("client.status", client, state_of(client), state_of(changed))
        audit.record(conn, partner_id, actor, change)
        return changed


def update_client(
    app: App,
    partner_id: int,
    client_id: int,
    name: str,
    *,
    uen_number: str = "",
    vat_number: str = "",
    external_ref: str = "",
    status: ClientStatus | None = None,
    actor: Actor = OPERATOR,
) -> Client:
    """Change a client's details (and, when given, its status), all or nothing.

    An archived client stays as it was: archiving cannot be undone.
    """
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    values = _checked(name, uen_number, vat_number, external_ref)
    with transaction(app.engine) as conn:
        client = rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_CLIENTS, partner_id, client_id)
        if client.status is ClientStatus.ARCHIVED:
            raise Conflict(f"client {client.name} is archived: it cannot be changed")
        rows.update_client(conn, partner_id, client_id, **values)
        if status is not None and status is not client.status:
            _move(conn, client, status)
        changed = rows.get_client(conn, partner_id, client_id)
        change = change_of("client.update", client, state_of(client), state_of(changed))
        audit.record(conn, partner_id, actor, change)
        return changed


def integrations_to_disconnect(
    app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> int:
    """How many of the client's integrations archiving it would disconnect (to confirm)."""
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_CLIENTS, partner_id, client_id)
        found = installation_rows.list_integration_rows(conn, partner_id, client_id)
    return sum(1 for row in found if row.status != IntegrationStatus.DISCONNECTED.value)


@dataclass(frozen=True)
class ClientPage:
    """One page of the client list. `health` is None for actors who may not see
    integrations (client managers): then no health is counted, and none is filtered on."""

    clients: list[Client]
    health: dict[int, ClientHealth] | None
    total: int
    offset: int
    limit: int


def client_page(
    app: App,
    partner_id: int,
    f: ClientFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 50,
    actor: Actor = OPERATOR,
) -> ClientPage:
    """The clients the actor may see that match the filter, by name, one page at a time."""
    f = f or ClientFilter()
    within = clients_within(actor, Action.SEE_CLIENTS, partner_id)
    with_health = may(actor, Action.SEE_INTEGRATIONS, partner_id)
    if not with_health:
        f = ClientFilter(f.search, f.statuses)
    offset = max(offset, 0)
    with reading(app.engine) as conn:
        found, total = client_list.page(conn, partner_id, f, within, offset=offset, limit=limit)
    health = {c.id: h for c, h in found} if with_health else None
    return ClientPage([c for c, _h in found], health, total, offset, limit)


def _checked(name: str, uen_number: str, vat_number: str, external_ref: str) -> dict[str, Any]:
    """A client's details, normalised; InvalidInput names the field at fault."""
    return {
        "name": validate_client_name(name),
        "uen_number": normalise_enterprise_number(uen_number),
        "vat_number": normalise_vat_number(vat_number),
        "external_ref": validate_external_ref(external_ref),
    }


def _move(conn: Connection, client: Client, status: ClientStatus) -> None:
    """Move a client along its statuses; archiving disconnects its integrations."""
    if status not in CLIENT_TRANSITIONS[client.status]:
        raise Conflict(f"a client that is {client.status.value} cannot become {status.value}")
    rows.set_client_status(conn, client.partner_id, client.id, status)
    if status is ClientStatus.ARCHIVED:
        for row in installation_rows.list_integration_rows(conn, client.partner_id, client.id):
            installation_rows.update_integration(
                conn,
                row.id,
                status=IntegrationStatus.DISCONNECTED.value,
                status_reason=f"client archived on {utcnow():%Y-%m-%d}",
            )
