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


@dataclass
class Waiting:
    partner_id: int
    document_ids: list[int]


def held_exports(app: App, extension: str, values: dict[str, Any], payloads: list[bytes]) -> Held:
    """One export per payload, approved while the integration is paused (so held)."""
    partner_id, client_id, integration_id = _client_with_integration(app, extension, values)
    integrations.pause(app, partner_id, integration_id)
    for document_id in _upload(app, partner_id, client_id, payloads):
        documents.approve(app, partner_id, document_id)
    analyze(app)
    return Held(partner_id, integration_id)


def waiting_documents(
    app: App, extension: str, values: dict[str, Any], payloads: list[bytes]
) -> Waiting:
    """One document per payload, uploaded and waiting for its client's approval, which
    will create its export to an active integration."""
    partner_id, client_id, _ = _client_with_integration(app, extension, values)
    waiting = Waiting(partner_id, _upload(app, partner_id, client_id, payloads))
    analyze(app)
    return waiting


def analyze(app: App) -> None:
    """PostgreSQL's statistics of the tables just filled, as autovacuum gathers them on a
    database in service (within a minute of that many new rows). A benchmark's database
    is minutes old: without them the planner takes the exports table for a few rows and
    sorts every due export for each claim instead of reading the first along the index."""
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _client_with_integration(
    app: App, extension: str, values: dict[str, Any]
) -> tuple[int, int, int]:
    partner = partners.create_partner(app, "Bench")
    client = clients.create_client(
        app, partner.id, "Client", uen_number="0403170701", external_ref="B1",
        status=ClientStatus.ACTIVE,
    )  # fmt: skip
    inst = installations.install(app, partner.id, extension, "bench", values)
    integration = integrations.add(app, partner.id, client.id, inst.id, {})
    return partner.id, client.id, integration.id


def _upload(app: App, partner_id: int, client_id: int, payloads: list[bytes]) -> list[int]:
    return [
        intake.upload(
            app, partner_id, client_id, f"f{n}.pdf", data, kind=DocumentKind.PURCHASE_INVOICE
        ).id
        for n, data in enumerate(payloads)
    ]


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
