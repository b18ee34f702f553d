"""A client's integrations at a glance: status, last export, counts and the last error."""

from __future__ import annotations

from dataclasses import dataclass

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.extensions import Integration
from passeur.storage.db import reading
from passeur.storage.repositories import exports as export_rows
from passeur.storage.repositories import installations as rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories.exports import Tally


@dataclass(frozen=True)
class IntegrationHealth:
    integration: Integration
    installation_name: str
    extension: str
    installation_active: bool
    tally: Tally


def of_client(
    app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> list[IntegrationHealth]:
    """Each integration of the client with its counts (a few queries, whatever the number
    of integrations or exports: one grouped query counts every integration's exports)."""
    require(actor, Action.SEE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        partner_rows.get_client(conn, partner_id, client_id)
        require(actor, Action.SEE_INTEGRATIONS, partner_id, client_id)
        found = rows.list_integration_rows(conn, partner_id, client_id)
        installations = {r.id: r for r in rows.list_installation_rows(conn, partner_id)}
        tallies = export_rows.tally_by_integration(conn, partner_id, [r.id for r in found])
    return [
        IntegrationHealth(
            integration=rows.to_integration(r),
            installation_name=installations[r.installation_id].name,
            extension=installations[r.installation_id].extension,
            installation_active=bool(installations[r.installation_id].active),
            tally=tallies.get(r.id, Tally()),
        )
        for r in found
    ]
