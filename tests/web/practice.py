"""A small practice for the practice views' tests: a firm, an installation added to each
client, one approved invoice per client (so one export each), and ways to put an export
in the state a test needs without running a target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from passeur.bootstrap import App
from passeur.domain.clock import utcnow
from passeur.domain.documents import DocumentKind
from passeur.services import documents, exports, installations, intake, integrations
from passeur.storage.db import reading, transaction
from passeur.storage.repositories.exports import ExportFilter
from passeur.storage.tables import attempts, metadata
from passeur.storage.tables import clients as clients_table
from passeur.storage.tables import exports as exports_table
from passeur.storage.tables import integrations as integrations_table
from tests.factories import SAMPLE_INVOICE, firm

# Installed but never reached: these tests read and retry exports, nothing is sent.
SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}


@dataclass
class Practice:
    partner_id: int
    clients: list[int]
    installation: int
    integrations: list[int]
    exports: list[int]  # one per client, in the clients' order


def practice(app: App, data: Path, *, n_clients: int = 2, name: str = "Firm") -> Practice:
    f = firm(app, n_clients=n_clients, name=name)
    inst = installations.install(app, f.partner_id, "sftp", "SFTP", SFTP_VALUES).id
    made = Practice(f.partner_id, [c.id for c in f.clients], inst, [], [])
    for client_id in made.clients:
        made.integrations.append(integrations.add(app, f.partner_id, client_id, inst, {}).id)
        made.exports.append(release(app, f.partner_id, client_id, data))
    return made


def release(
    app: App, partner_id: int, client_id: int, data: Path, filename: str = "invoice.xml"
) -> int:
    """A purchase invoice uploaded and approved for the client; its export's id."""
    source = data / SAMPLE_INVOICE
    doc = intake.upload(
        app,
        partner_id,
        client_id,
        filename,
        source.read_bytes(),
        kind=DocumentKind.PURCHASE_INVOICE,
    )
    documents.approve(app, partner_id, doc.id)
    [row] = exports.list_exports(app, partner_id, ExportFilter(document_id=doc.id))
    return int(row["export"].id)


def set_export(app: App, export_id: int, **values: Any) -> None:
    with transaction(app.engine) as conn:
        conn.execute(update(exports_table).where(exports_table.c.id == export_id).values(**values))


def set_client(app: App, client_id: int, **values: Any) -> None:
    with transaction(app.engine) as conn:
        conn.execute(update(clients_table).where(clients_table.c.id == client_id).values(**values))


def set_integration(app: App, integration_id: int, **values: Any) -> None:
    with transaction(app.engine) as conn:
        conn.execute(
            update(integrations_table)
            .where(integrations_table.c.id == integration_id)
            .values(**values)
        )


def add_attempt(app: App, export_id: int, number: int, **values: Any) -> None:
    now = utcnow()
    row = {
        "export_id": export_id,
        "number": number,
        "worker": "w1",
        "started_at": now,
        "finished_at": now,
        "outcome": "error",
        **values,
    }
    with transaction(app.engine) as conn:
        conn.execute(insert(attempts).values(**row))


def snapshot(app: App) -> dict[str, Any]:
    """Every row of every table: what a refused request must leave alone."""
    with reading(app.engine) as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table))))
            for table in metadata.sorted_tables
            if table.name not in ("web_sessions", "sign_in_failures")
        }
