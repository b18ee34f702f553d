"""Pausing an integration, switching an installation off, and pruning old exports."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from passeur.bootstrap import App
from passeur.delivery import retention
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, integrations
from tests.factories import add_integration, firm, sftp_installation, upload_invoice


def approve(app: App, partner_id: int, client_id: int, shared_data: Path) -> int:
    doc = upload_invoice(
        app,
        partner_id,
        client_id,
        shared_data / "ubl/peppol-base-example.xml",
        DocumentKind.PURCHASE_INVOICE,
    )
    return documents.approve(app, partner_id, doc.id).id


def drain(app: App) -> None:
    asyncio.run(Worker(app).run(asyncio.Event(), drain=True))


def states(app: App, partner_id: int) -> list[ExportState]:
    return sorted(r["export"].state for r in exports.list_exports(app, partner_id))


def test_a_paused_integration_keeps_its_exports_until_resumed(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    integration = add_integration(
        app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp)
    )
    approve(app, f.partner_id, f.clients[0].id, shared_data)  # queued before the pause
    integrations.pause(app, f.partner_id, integration)
    approve(app, f.partner_id, f.clients[0].id, shared_data)  # approved while paused
    drain(app)
    assert states(app, f.partner_id) == [ExportState.HELD, ExportState.HELD]
    assert sftp.events == []
    integrations.resume(app, f.partner_id, integration)
    drain(app)
    assert states(app, f.partner_id) == [ExportState.DELIVERED, ExportState.DELIVERED]


def test_switching_an_installation_off_holds_queued_work_and_skips_new_approvals(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    inst = sftp_installation(app, f.partner_id, sftp)
    for client in f.clients:
        add_integration(app, f.partner_id, client.id, inst)
    queued = [approve(app, f.partner_id, c.id, shared_data) for c in f.clients]
    installations.set_active(app, f.partner_id, inst, False)
    while_off = approve(app, f.partner_id, f.clients[0].id, shared_data)
    drain(app)
    assert states(app, f.partner_id) == [ExportState.HELD, ExportState.HELD]
    installations.set_active(app, f.partner_id, inst, True)
    drain(app)
    delivered = {r["export"].document_id for r in exports.list_exports(app, f.partner_id)}
    assert delivered == set(queued), "approvals made while off are not exported"
    assert states(app, f.partner_id) == [ExportState.DELIVERED, ExportState.DELIVERED]
    documents.resend(app, f.partner_id, while_off)  # the partner sends it on purpose
    drain(app)
    assert len(states(app, f.partner_id)) == 3


def test_resuming_an_integration_that_needs_attention_sends_what_was_parked(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    integration = add_integration(app, f.partner_id, f.clients[0].id, inst)
    installations.update(app, f.partner_id, inst, {"password": "wrong-one"})
    approve(app, f.partner_id, f.clients[0].id, shared_data)
    drain(app)
    assert integrations.get(app, f.partner_id, integration).status is (
        IntegrationStatus.NEEDS_ATTENTION
    )
    approve(app, f.partner_id, f.clients[0].id, shared_data)  # waits with the others
    assert states(app, f.partner_id) == [ExportState.NEEDS_ATTENTION] * 2
    from tests.factories import PASSWORD

    installations.update(app, f.partner_id, inst, {"password": PASSWORD})
    integrations.resume(app, f.partner_id, integration)
    drain(app)
    assert states(app, f.partner_id) == [ExportState.DELIVERED] * 2


def test_delivered_exports_are_pruned_after_the_retention(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    approve(app, f.partner_id, f.clients[0].id, shared_data)
    drain(app)
    assert retention.prune(app.engine, timedelta(days=1)) == 0
    assert retention.prune(app.engine, timedelta(seconds=-1)) == 1
    assert exports.list_exports(app, f.partner_id) == []
