"""The worker delivering to a real SFTP server, in process."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from passeur.bootstrap import App
from passeur.delivery.worker import THROTTLED_WAIT, Worker, redact
from passeur.domain.documents import AccountingStatus, DocumentKind
from passeur.domain.exports import AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, integrations
from tests.factories import (
    PASSWORD,
    USER,
    add_integration,
    approve_invoices,
    firm,
    sample_invoice,
    sftp_installation,
    upload_invoice,
)


def drain(app: App) -> Worker:
    worker = Worker(app, concurrency=4)
    asyncio.run(worker.run(asyncio.Event(), drain=True))
    return worker


def test_approved_documents_are_delivered_and_receipts_kept(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    source = shared_data / "ubl/peppol-base-example.xml"
    doc = upload_invoice(app, f.partner_id, f.clients[0].id, source, DocumentKind.PURCHASE_INVOICE)
    documents.approve(app, f.partner_id, doc.id)
    assert drain(app).delivered == 1
    [row] = exports.list_exports(app, f.partner_id)
    export = row["export"]
    assert export.state is ExportState.DELIVERED
    landed = sftp.root / USER / export.receipt["location"]
    assert landed.read_bytes() == source.read_bytes()
    assert export.receipt["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert export.receipt["size"] == len(source.read_bytes())
    status = documents.get(app, f.partner_id, doc.id).accounting_status
    assert status is AccountingStatus.READY_TO_PROCESS


def test_a_wrong_password_parks_the_integration_without_leaking_it(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    installations.update(app, f.partner_id, inst, {"password": "not-the-password"})
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    for _ in range(2):
        doc = sample_invoice(app, f, shared_data)
        documents.approve(app, f.partner_id, doc.id)
    drain(app)
    found = exports.list_exports(app, f.partner_id)
    assert {r["export"].state for r in found} == {ExportState.NEEDS_ATTENTION}
    assert sftp.logins == [(USER, False)], "one refused login reaches the server, no more"
    tried = [t for r in found for t in exports.get(app, f.partner_id, r["export"].id)[1]]
    assert {t.error_class for t in tried} == {ErrorClass.AUTH}
    assert all("refused the login" in t.message for t in tried)
    assert not any("not-the-password" in t.message for t in tried)
    [integration] = integrations.list_integrations(app, f.partner_id)
    assert integration.status is IntegrationStatus.NEEDS_ATTENTION
    # A person fixes the password and retries: everything parked goes out.
    installations.update(app, f.partner_id, inst, {"password": PASSWORD})
    exports.retry(app, f.partner_id, found[0]["export"].id)
    drain(app)
    states = {r["export"].state for r in exports.list_exports(app, f.partner_id)}
    assert states == {ExportState.DELIVERED}


def test_a_server_that_is_down_is_retried_until_it_is_back(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    installations.update(app, f.partner_id, inst, {"port": "1"})  # nothing listens there
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    doc = sample_invoice(app, f, shared_data)
    documents.approve(app, f.partner_id, doc.id)
    drain(app)  # the first try fails; the next one is not due yet (1 s)
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].state is ExportState.RETRYING
    assert row["export"].last_error_class is ErrorClass.TRANSIENT
    installations.update(app, f.partner_id, inst, {"port": str(sftp.port)})
    asyncio.run(asyncio.sleep(1.1))
    drain(app)
    export, tries = exports.get(app, f.partner_id, row["export"].id)
    assert export.state is ExportState.DELIVERED
    assert tries[-1].outcome is AttemptOutcome.DELIVERED
    assert {t.outcome for t in tries[:-1]} == {AttemptOutcome.ERROR}
    assert {t.error_class for t in tries[:-1]} == {ErrorClass.TRANSIENT}


def test_redact_removes_secrets() -> None:
    assert redact("login pw=hunter22 failed", {"password": "hunter22"}) == "login pw=*** failed"


def test_an_unexpected_error_is_retried_and_logged_without_secrets(
    app: App, sftp: SftpSandbox, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from passeur.connectors.sftp import SftpConnector

    async def broken(self: SftpConnector, target: Any, parcel: Any) -> Any:
        raise RuntimeError(f"bug while using {target.secrets['password']}")

    monkeypatch.setattr(SftpConnector, "deliver", broken)
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    approve_invoices(app, f, shared_data)
    drain(app)
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].state in (ExportState.RETRYING, ExportState.FAILED)
    assert row["export"].last_error_class is ErrorClass.TRANSIENT
    assert "bug while using ***" in row["export"].last_error
    assert PASSWORD not in caplog.text and "bug while using ***" in caplog.text


def test_after_a_claim_that_found_its_targets_full_the_worker_claims_in_batches(
    app: App,
) -> None:
    """Claiming on every finished try would find the target full again, one trip each:
    the worker waits for half of its tries, or for the window's end after a change."""
    worker = Worker(app, concurrency=16)
    assert worker._may_claim(0.0)
    worker._claimed([], throttled=True, now=100.0)  # nothing running: one try will do
    assert not worker._may_claim(100.01)
    worker._finished_since_claim = 1
    assert worker._may_claim(100.01)
    worker._tasks = {object(), object(), object(), object()}  # type: ignore[arg-type]
    worker._claimed([], throttled=True, now=200.0)  # four running: wait for two
    worker._finished_since_claim = 1
    assert not worker._may_claim(200.01)
    assert not worker._may_claim(201.0)  # the window is over, but nothing changed
    assert worker._throttle is not None
    worker._throttle.changed = True
    assert not worker._may_claim(200.01)  # a change, acted on when the window is over
    assert worker._may_claim(200.0 + THROTTLED_WAIT)
    worker._finished_since_claim = 2
    assert worker._may_claim(200.01)
    worker._claimed([], throttled=False, now=300.0)
    assert worker._may_claim(300.0)
