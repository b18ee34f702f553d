"""Filling a passeur database with a client, an integration and approved documents whose
exports are held, so that a benchmark can release them all at once and time only the
delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.services import clients, documents, installations, intake, integrations, partners


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
