"""The read-only status page lists clients, integrations and exports with their states."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.testclient import TestClient

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents
from passeur.web.app import create
from tests.factories import add_integration, firm, sample_invoice, sftp_installation


def test_the_status_page_shows_each_export_and_where_it_went(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    doc = sample_invoice(app, f, shared_data)
    documents.approve(app, f.partner_id, doc.id)
    client = TestClient(create(app))
    before = client.get("/")
    assert before.status_code == 200
    assert "Client 0" in before.text and "Client 1" in before.text
    assert ">pending<" in before.text
    asyncio.run(Worker(app).run(asyncio.Event(), drain=True))
    after = client.get("/").text
    assert ">delivered<" in after
    assert "invoice_import/C000_0403170701/purchases/" in after
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/").status_code == 405, "the page is read-only"
