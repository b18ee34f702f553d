"""Which clients use an installation, and what switching it off or on would touch."""

from __future__ import annotations

from dataclasses import dataclass

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.extensions import IntegrationStatus
from passeur.storage.db import reading
from passeur.storage.repositories import exports as export_rows
from passeur.storage.repositories import installations as rows


@dataclass(frozen=True)
class ClientUse:
    """One client's integration of the installation."""

    integration_id: int
    client_id: int
    client_name: str
    status: IntegrationStatus
    status_reason: str


@dataclass(frozen=True)
class ToggleImpact:
    """What the Active toggle touches: the clients using the installation (disconnected
    ones aside) and its exports not finished yet (held when off, sent again when on)."""

    clients: int
    waiting: int


def client_counts(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> dict[int, int]:
    """How many clients use each of the partner's installations, in one query."""
    require(actor, Action.SEE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        return rows.clients_by_installation(conn, partner_id)


def clients_using(
    app: App, partner_id: int, installation_id: int, *, actor: Actor = OPERATOR
) -> list[ClientUse]:
    require(actor, Action.SEE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        rows.get_installation_row(conn, partner_id, installation_id)
        found = rows.integrations_with_clients(conn, partner_id, installation_id)
    return [
        ClientUse(r.id, r.client_id, r.client_name, IntegrationStatus(r.status), r.status_reason)
        for r in found
    ]


def toggle_impact(
    app: App, partner_id: int, installation_id: int, *, actor: Actor = OPERATOR
) -> ToggleImpact:
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        rows.get_installation_row(conn, partner_id, installation_id)
        clients = rows.clients_by_installation(conn, partner_id).get(installation_id, 0)
        waiting = export_rows.open_count_of_installation(conn, installation_id)
    return ToggleImpact(clients=clients, waiting=waiting)
