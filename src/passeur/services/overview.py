"""The practice at a glance (the home page): what needs a person, across the clients the
visitor may see.

Each part is there only for a visitor whose role has its action: a client manager, who
may not see exports or integrations, gets the clients part alone, not a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, may
from passeur.domain.clock import utcnow
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import ClientStatus
from passeur.storage.db import reading
from passeur.storage.repositories import exports as export_rows
from passeur.storage.repositories import overview as rows
from passeur.storage.repositories import partners as partner_rows

SHOWN = 10  # integrations listed; the rest are counted
LATEST_FAILED = 5


@dataclass(frozen=True)
class Trouble:
    """An integration that needs a person, and why (the reason as recorded)."""

    integration_id: int
    client_id: int
    client_name: str
    installation_name: str
    status: IntegrationStatus
    reason: str
    since: datetime


@dataclass(frozen=True)
class ExportFigures:
    counts: dict[ExportState, int]
    delivered_today: int
    latest_failed: list[dict[str, Any]]  # as services.exports.list_exports gives them
    oldest_waiting: dict[str, Any] | None

    @property
    def failed(self) -> int:
        return self.counts.get(ExportState.FAILED, 0)

    @property
    def parked(self) -> int:
        """Waiting for a person to fix their integration."""
        return self.counts.get(ExportState.NEEDS_ATTENTION, 0)

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in rows.WAITING)


@dataclass(frozen=True)
class Overview:
    now: datetime
    clients: dict[ClientStatus, int] | None  # None: the visitor may not see clients
    troubles: list[Trouble] | None  # None: the visitor may not see integrations
    troubles_total: int
    exports: ExportFigures | None  # None: the visitor may not see exports

    @property
    def client_count(self) -> int:
        return sum((self.clients or {}).values())


def overview(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> Overview:
    now = utcnow()
    with reading(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        clients = None
        if may(actor, Action.SEE_CLIENTS, partner_id):
            within = clients_within(actor, Action.SEE_CLIENTS, partner_id)
            clients = rows.clients_by_status(conn, partner_id, within)
        troubles, total = None, 0
        if may(actor, Action.SEE_INTEGRATIONS, partner_id):
            within = clients_within(actor, Action.SEE_INTEGRATIONS, partner_id)
            found = rows.integrations_needing_attention(conn, partner_id, within, SHOWN)
            troubles = [_trouble(r) for r in found]
            total = found[0].total if found else 0
        figures = None
        if may(actor, Action.SEE_EXPORTS, partner_id):
            within = clients_within(actor, Action.SEE_EXPORTS, partner_id)
            today = datetime.combine(now.date(), time())
            oldest = rows.oldest_waiting(conn, partner_id, within)
            figures = ExportFigures(
                counts=rows.export_counts(conn, partner_id, within),
                delivered_today=rows.delivered_since(conn, partner_id, within, today),
                latest_failed=[
                    export_rows.to_listed(r)
                    for r in rows.latest_failed(conn, partner_id, within, LATEST_FAILED)
                ],
                oldest_waiting=export_rows.to_listed(oldest) if oldest is not None else None,
            )
    return Overview(now, clients, troubles, total, figures)


def _trouble(r: Any) -> Trouble:
    return Trouble(
        integration_id=r.id,
        client_id=r.client_id,
        client_name=r.client_name,
        installation_name=r.installation_name,
        status=IntegrationStatus(r.status),
        reason=r.status_reason,
        since=r.updated_at,
    )
