"""The businesses a partner serves.

Every call takes the actor asking (default: the operator, for the CLI and the demo); the
rules are in domain/access.py.
"""

from __future__ import annotations

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.clock import utcnow
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import (
    CLIENT_TRANSITIONS,
    Client,
    ClientStatus,
    normalise_enterprise_number,
    normalise_vat_number,
    validate_external_ref,
)
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as rows


def create_client(
    app: App,
    partner_id: int,
    name: str,
    *,
    uen_number: str = "",
    vat_number: str = "",
    external_ref: str = "",
    status: ClientStatus = ClientStatus.DRAFT,
    actor: Actor = OPERATOR,
) -> Client:
    require(actor, Action.MANAGE_CLIENTS, partner_id)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a client needs a name of 1 to 200 characters")
    values = {
        "name": name,
        "uen_number": normalise_enterprise_number(uen_number),
        "vat_number": normalise_vat_number(vat_number),
        "external_ref": validate_external_ref(external_ref),
        "status": ClientStatus(status).value,
    }
    with transaction(app.engine) as conn:
        rows.get_partner(conn, partner_id)
        return rows.add_client(conn, partner_id, **values)


def list_clients(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Client]:
    """The clients the actor may see: all of them, the assigned ones, or their own."""
    within = clients_within(actor, Action.SEE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        return rows.list_clients(conn, partner_id, within)


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
        if status not in CLIENT_TRANSITIONS[client.status]:
            raise Conflict(f"a client that is {client.status.value} cannot become {status.value}")
        rows.set_client_status(conn, partner_id, client_id, status)
        if status is ClientStatus.ARCHIVED:
            for row in installation_rows.list_integration_rows(conn, partner_id, client_id):
                installation_rows.update_integration(
                    conn,
                    row.id,
                    status=IntegrationStatus.DISCONNECTED.value,
                    status_reason=f"client archived on {utcnow():%Y-%m-%d}",
                )
        return rows.get_client(conn, partner_id, client_id)
