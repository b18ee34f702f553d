"""Services behind the partner space's integration pages: removing an integration, a
client's counts per integration, what the Active toggle touches, the path preview, and
trusting only the host key a person confirmed. On both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.domain.documents import AccountingStatus
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import (
    documents,
    exports,
    installation_usage,
    installations,
    integration_health,
    integrations,
)
from tests.factories import (
    PASSWORD,
    USER,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
)


def offline_sftp(app: App, partner_id: int) -> int:
    """An SFTP installation nobody connects to (no worker runs in these tests)."""
    values = {"host": "127.0.0.1", "port": "1", "username": "u", "password": "p"}
    return installations.install(app, partner_id, "sftp", "Offline", values).id


def test_removing_an_integration_without_exports_deletes_it(app: App) -> None:
    f = firm(app, n_clients=1)
    integration = add_integration(
        app, f.partner_id, f.clients[0].id, offline_sftp(app, f.partner_id)
    )
    assert integrations.removal_impact(app, f.partner_id, integration).deleted
    assert integrations.remove(app, f.partner_id, integration) is True
    assert integrations.list_integrations(app, f.partner_id, f.clients[0].id) == []


def test_removing_an_integration_with_exports_disconnects_it_and_cancels_what_waits(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    installation = offline_sftp(app, f.partner_id)
    integration = add_integration(app, f.partner_id, f.clients[0].id, installation)
    [doc] = approve_invoices(app, f, shared_data, 1)
    impact = integrations.removal_impact(app, f.partner_id, integration)
    assert not impact.deleted and impact.cancelled == 1

    assert integrations.remove(app, f.partner_id, integration) is False
    removed = integrations.get(app, f.partner_id, integration)
    assert removed.status is IntegrationStatus.DISCONNECTED
    assert removed.status_reason.startswith("removed on ")
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].state is ExportState.CANCELLED
    assert "removed" in row["export"].last_error
    # The document no longer waits for a target that is gone.
    assert (
        documents.get(app, f.partner_id, doc).accounting_status is AccountingStatus.READY_TO_PROCESS
    )
    # Nothing new goes to it, and it cannot be added twice; resuming connects it again.
    approve_invoices(app, f, shared_data, 1)
    assert len(exports.list_exports(app, f.partner_id)) == 1
    integrations.resume(app, f.partner_id, integration)
    assert integrations.get(app, f.partner_id, integration).status is IntegrationStatus.ACTIVE


def test_a_clients_integrations_come_with_their_counts_and_last_error(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    working = sftp_installation(app, f.partner_id, sftp)
    broken = offline_sftp(app, f.partner_id)
    add_integration(app, f.partner_id, f.clients[0].id, working)
    add_integration(app, f.partner_id, f.clients[0].id, broken)
    add_integration(app, f.partner_id, f.clients[1].id, working)
    approve_invoices(app, f, shared_data, 2)
    approve_invoices(app, f, shared_data, 1, client=1)
    asyncio.run(Worker(app).run(asyncio.Event(), drain=True))

    health = {
        h.installation_name: h
        for h in integration_health.of_client(app, f.partner_id, f.clients[0].id)
    }
    assert set(health) == {"SFTP", "Offline"}
    ok = health["SFTP"].tally
    assert (ok.delivered, ok.failed, ok.waiting) == (2, 0, 0)
    assert ok.last_export_at is not None and ok.last_error == ""
    bad = health["Offline"]
    assert bad.tally.delivered == 0 and bad.tally.waiting + bad.tally.failed == 2
    assert bad.tally.last_error  # the connector's words, e.g. the host key is not pinned
    assert bad.integration.status is IntegrationStatus.NEEDS_ATTENTION


def test_the_active_toggle_says_how_many_clients_and_waiting_exports_it_touches(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=3)
    installation = offline_sftp(app, f.partner_id)
    for client in f.clients[:2]:
        add_integration(app, f.partner_id, client.id, installation)
    approve_invoices(app, f, shared_data, 2)
    approve_invoices(app, f, shared_data, 1, client=1)
    approve_invoices(app, f, shared_data, 1, client=2)  # no integration: no export
    impact = installation_usage.toggle_impact(app, f.partner_id, installation)
    assert (impact.clients, impact.waiting) == (2, 3)
    assert installation_usage.client_counts(app, f.partner_id) == {installation: 2}
    users = installation_usage.clients_using(app, f.partner_id, installation)
    assert [u.client_name for u in users] == ["Client 0", "Client 1"]


def test_the_path_preview_renders_as_the_connector_would_for_the_clients_document(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    installation = offline_sftp(app, f.partner_id)
    path = "/in/[uen_number]/[invoice_type]/[year]"
    empty = integrations.preview_path(
        app, f.partner_id, f.clients[0].id, installation, {"upload_path": path}
    )
    assert empty.example and empty.document is None
    assert empty.path.startswith("in/0403170701/purchases/")

    [doc_id] = approve_invoices(app, f, shared_data, 1)
    shown = integrations.preview_path(
        app, f.partner_id, f.clients[0].id, installation, {"upload_path": path, "root": "/srv"}
    )
    assert not shown.example and shown.document is not None and shown.document.id == doc_id
    assert shown.path.startswith("/srv/in/0403170701/purchases/20")
    assert shown.path.endswith(f"_d{doc_id}.xml")

    refused = integrations.preview_path(
        app, f.partner_id, f.clients[0].id, installation, {"upload_path": "/in/../x"}
    )
    assert refused.path == "" and "'..'" in refused.error


def test_trusting_a_host_key_pins_only_the_fingerprint_the_person_confirmed(
    app: App, sftp: SftpSandbox
) -> None:
    f = firm(app, n_clients=1)
    values = {"host": "127.0.0.1", "port": str(sftp.port), "username": USER, "password": PASSWORD}
    inst = installations.install(app, f.partner_id, "sftp", "S", values).id
    seen = asyncio.run(installations.check(app, f.partner_id, inst))
    assert not seen.ok and seen.details["fingerprint"] == sftp.fingerprint

    wrong = "SHA256:" + "A" * 43
    with pytest.raises(InvalidInput, match="nothing was pinned") as refused:
        asyncio.run(installations.check(app, f.partner_id, inst, trust=wrong))
    assert refused.value.field == "trust"
    assert "host_key" not in installations.get(app, f.partner_id, inst).config
    with pytest.raises(InvalidInput, match="SHA256"):
        asyncio.run(installations.check(app, f.partner_id, inst, trust="yes"))

    trusted = asyncio.run(installations.check(app, f.partner_id, inst, trust=sftp.fingerprint))
    assert trusted.ok and f"host key {sftp.fingerprint} pinned" in trusted.message
    assert "matches" not in trusted.message, "nothing was pinned before: it matched nothing"
    assert installations.get(app, f.partner_id, inst).config["host_key"] == sftp.public_host_key
    again = asyncio.run(installations.check(app, f.partner_id, inst, trust=sftp.fingerprint))
    assert again.ok and "matches the pinned one" in again.message and "pinned." not in again.message


def test_an_integration_with_its_own_host_pins_its_own_key(app: App, sftp: SftpSandbox) -> None:
    """The connector's pin hook says what to pin; the pin goes where the host is set."""
    f = firm(app, n_clients=1)
    values = {"host": "127.0.0.1", "port": "1", "username": USER, "password": PASSWORD}
    inst = installations.install(app, f.partner_id, "sftp", "Elsewhere", values).id
    own = {"host": "127.0.0.1", "port": str(sftp.port)}
    integration = integrations.add(app, f.partner_id, f.clients[0].id, inst, own).id
    trusted = asyncio.run(
        installations.check(
            app, f.partner_id, inst, integration_id=integration, trust=sftp.fingerprint
        )
    )
    assert "host_key" not in installations.get(app, f.partner_id, inst).config
    pinned = integrations.get(app, f.partner_id, integration).config
    assert pinned["host_key"] == sftp.public_host_key
    assert trusted.details["fingerprint"] == sftp.fingerprint


def test_a_connection_tests_error_is_redacted(
    app: App, sftp: SftpSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from passeur.connectors.errors import NeedsReauth
    from passeur.connectors.sftp import SftpConnector

    async def echoing(self: SftpConnector, target: object) -> object:
        raise NeedsReauth(f"login refused for {PASSWORD}")

    monkeypatch.setattr(SftpConnector, "check", echoing)
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    with pytest.raises(NeedsReauth) as refused:
        asyncio.run(installations.check(app, f.partner_id, inst))
    assert refused.value.message == "login refused for ***"
