"""Filling a passeur database with a client, an integration and approved documents whose
exports are held, so that a benchmark can release them all at once and time only the
delivery; and loading what a connector is handed, to time a connector alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from passeur.bootstrap import App
from passeur.delivery.context import Delivery, Loader
from passeur.delivery.leases import Claim
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.services import clients, documents, installations, intake, integrations, partners
from passeur.storage.db import reading
from passeur.storage.tables import exports


@dataclass
class Held:
    partner_id: int
    integration_id: int


def held_exports(app: App, extension: str, values: dict[str, Any], payloads: list[bytes]) -> Held:
    """One export per payload, approved while the integration is paused (so held)."""
    partner = partners.create_partner(app, "Bench")
    client = clients.create_client(
        app, partner.id, "Client", uen_number="0403170701", external_ref="B1",
        status=ClientStatus.ACTIVE,
    )  # fmt: skip
    inst = installations.install(app, partner.id, extension, "bench", values)
    integration = integrations.add(app, partner.id, client.id, inst.id, {})
    integrations.pause(app, partner.id, integration.id)
    for n, data in enumerate(payloads):
        doc = intake.upload(
            app, partner.id, client.id, f"f{n}.pdf", data, kind=DocumentKind.PURCHASE_INVOICE
        )
        documents.approve(app, partner.id, doc.id)
    return Held(partner.id, integration.id)


def release(app: App, held: Held) -> None:
    integrations.resume(app, held.partner_id, held.integration_id)


def deliveries(app: App) -> list[Delivery]:
    """What a worker would hand its connector for every export (target and parcel), loaded
    the worker's way, for timing a connector without the ledger."""
    with reading(app.engine) as conn:
        rows = conn.execute(select(exports).order_by(exports.c.id)).all()
        claims = [
            Claim(
                export_id=r.id, partner_id=r.partner_id, document_id=r.document_id,
                integration_id=r.integration_id, installation_id=r.installation_id,
                version=r.version, attempt=r.attempts, schedule_base=r.schedule_base,
                worker="bench",
            )
            for r in rows
        ]  # fmt: skip
        loaded = Loader(app).load(conn, claims)
    found = [job for job in loaded.values() if isinstance(job, Delivery)]
    if len(found) != len(claims):
        raise RuntimeError("some exports could not be loaded")
    return found
