"""The HTTP and e-mail extensions through the services and the worker, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from passeur.bootstrap import App, build
from passeur.connectors.http.signing import new_secret
from passeur.delivery import outcomes
from passeur.delivery.claims import claim
from passeur.delivery.outcomes import Outcome
from passeur.delivery.worker import Worker
from passeur.domain.documents import AccountingStatus, DocumentKind
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import ClientStatus
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.sandbox.smtp_server import SmtpSandbox
from passeur.sandbox.tls import SandboxTls
from passeur.services import clients, documents, exports, installations, intake, integrations
from passeur.storage import schema
from passeur.storage.tables import installations as installation_table
from passeur.storage.tables import integrations as integration_table
from tests.conftest import make_settings
from tests.factories import approve_invoices, firm, sftp_installation, upload_invoice

SECRET = new_secret()
SMTP_USER, SMTP_PASSWORD = "firm", "smtp-pass-4242"


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    """The app with loopback allowed, as an operator would for an intranet endpoint."""
    settings = make_settings(tmp_path / "data", database_url, allowed_networks="127.0.0.0/8")
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET))
    yield runner.start()
    runner.stop()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[SmtpSandbox, SandboxTls]]:
    tls = SandboxTls.make()
    server = SmtpSandbox(
        users={SMTP_USER: SMTP_PASSWORD}, tls=tls, tls_folder=tmp_path / "tls"
    ).start()
    yield server, tls
    server.stop()


def drain(app: App) -> Worker:
    worker = Worker(app, concurrency=1)
    asyncio.run(worker.run(asyncio.Event(), drain=True))
    return worker


def http_values(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": url,
        "allow_plain_http": "yes",
        "signing_secret": SECRET,
        "path": "/[external_id]/[invoice_type]",
        **extra,
    }


def email_values(server: SmtpSandbox, tls: SandboxTls, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": str(server.port),
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "sender_address": "exports@firm.example",
        "ca_bundle": tls.ca_pem,
        **extra,
    }


def rows_in(app: App, table: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_documents_go_out_signed_through_the_worker(
    app: App, receiver: HttpReceiver, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(app, f.partner_id, "http", "ERP", http_values(receiver.url))
    integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {})
    approve_invoices(app, f, shared_data, 2)
    assert drain(app).delivered == 2
    assert receiver.bad_signatures == 0
    assert sorted(r.path for r in receiver.accepted.values()) == ["/C000/purchases"] * 2
    states = {r["export"].state for r in exports.list_exports(app, f.partner_id)}
    assert states == {ExportState.DELIVERED}


def test_a_gone_endpoint_disconnects_the_integration(
    app: App, receiver: HttpReceiver, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(app, f.partner_id, "http", "ERP", http_values(receiver.url))
    integration = integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {})
    first, *others = approve_invoices(app, f, shared_data, 3)
    receiver.faults.status = 410
    receiver.faults.body = f"endpoint removed (it had secret {SECRET})"  # a careless echo
    drain(app)
    assert len(receiver.seen) == 1, "no more calls to an endpoint that is gone"
    after = integrations.get(app, f.partner_id, integration.id)
    assert after.status is IntegrationStatus.DISCONNECTED
    assert "410" in after.status_reason
    rows = {r["export"].document_id: r["export"] for r in exports.list_exports(app, f.partner_id)}
    gone = rows[first]
    assert gone.state is ExportState.FAILED and gone.last_error_class is ErrorClass.GONE
    assert "disconnected" in gone.last_error
    _, [attempt] = exports.get(app, f.partner_id, gone.id)
    assert "endpoint removed (it had secret ***)" in attempt.message
    assert SECRET not in attempt.message + gone.last_error + after.status_reason
    for document_id in others:
        assert rows[document_id].state is ExportState.NEEDS_ATTENTION
        assert rows[document_id].last_error == "waiting: the integration was disconnected"
    assert documents.get(app, f.partner_id, first).accounting_status is AccountingStatus.ERROR
    # A person points the endpoint somewhere that works and retries: everything goes out.
    receiver.faults.status = None
    receiver.faults.body = ""
    exports.retry(app, f.partner_id, gone.id)
    assert integrations.get(app, f.partner_id, integration.id).status is IntegrationStatus.ACTIVE
    assert drain(app).delivered == 3
    assert len(receiver.accepted) == 3


def test_resuming_reconnects_an_integration_its_target_disconnected(
    app: App, receiver: HttpReceiver, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(app, f.partner_id, "http", "ERP", http_values(receiver.url))
    integration = integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {})
    approve_invoices(app, f, shared_data, 2)
    receiver.faults.status = 410
    drain(app)
    receiver.faults.status = None
    resumed = integrations.resume(app, f.partner_id, integration.id)
    assert resumed.status is IntegrationStatus.ACTIVE and resumed.status_reason == ""
    assert drain(app).delivered == 1, "the parked export goes out; the failed one waits"
    clients.change_status(app, f.partner_id, f.clients[0].id, ClientStatus.ARCHIVED)
    with pytest.raises(Conflict, match="is archived"):
        integrations.resume(app, f.partner_id, integration.id)


def test_an_email_client_gets_only_the_families_it_has_an_address_for(
    app: App, smtp: tuple[SmtpSandbox, SandboxTls], shared_data: Path
) -> None:
    server, tls = smtp
    f = firm(app, n_clients=1)
    client = f.clients[0].id
    inst = installations.install(app, f.partner_id, "email", "Mail", email_values(server, tls))
    integrations.add(
        app,
        f.partner_id,
        client,
        inst.id,
        {"purchases_address": "aankoop@inbox.example", "statements_address": "coda@inbox.example"},
    )
    invoice = shared_data / "ubl/peppol-base-example.xml"
    purchase = upload_invoice(app, f.partner_id, client, invoice, DocumentKind.PURCHASE_INVOICE)
    documents.approve(app, f.partner_id, purchase.id)
    sale = upload_invoice(app, f.partner_id, client, invoice, DocumentKind.SALES_INVOICE)
    documents.send(app, f.partner_id, sale.id)
    coda = shared_data / "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt"
    statement = intake.upload(app, f.partner_id, client, coda.name, coda.read_bytes())
    made = {r["export"].document_id for r in exports.list_exports(app, f.partner_id)}
    assert made == {purchase.id, statement.id}, "no address for sales: no sales export"
    assert documents.get(app, f.partner_id, sale.id).accounting_status is (
        AccountingStatus.READY_TO_PROCESS
    )
    assert drain(app).delivered == 2
    by_address = {m.rcpt_tos[0]: m for m in server.messages}
    assert set(by_address) == {"aankoop@inbox.example", "coda@inbox.example"}
    [attachment] = list(by_address["coda@inbox.example"].parsed().iter_attachments())
    assert attachment.get_filename().endswith(".cod")
    assert attachment.get_payload(decode=True) == coda.read_bytes()


def test_test_connection_can_send_a_test_delivery(
    app: App, receiver: HttpReceiver, smtp: tuple[SmtpSandbox, SandboxTls]
) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(app, f.partner_id, "http", "ERP", http_values(receiver.url))
    checked = asyncio.run(installations.check(app, f.partner_id, inst.id))
    assert checked.ok and not receiver.accepted
    sent = asyncio.run(installations.check(app, f.partner_id, inst.id, send_test=True))
    assert (
        sent.ok and "Test POST" in sent.message and sent.details["test_delivery"]["status"] == 200
    )
    [test_id] = receiver.accepted
    assert test_id.startswith("psr-test-")
    server, tls = smtp
    mail = installations.install(app, f.partner_id, "email", "Mail", email_values(server, tls))
    integration = integrations.add(
        app, f.partner_id, f.clients[0].id, mail.id, {"sales_address": "verkoop@inbox.example"}
    )
    result = asyncio.run(
        installations.check(
            app, f.partner_id, mail.id, integration_id=integration.id, send_test=True
        )
    )
    assert result.ok and "verkoop@inbox.example" in result.message
    assert [m.rcpt_tos for m in server.messages] == [("verkoop@inbox.example",)]


def test_sftp_has_no_test_delivery(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=1)
    installation_id = sftp_installation(app, f.partner_id, sftp)
    with pytest.raises(InvalidInput, match="SFTP has no test delivery"):
        asyncio.run(installations.check(app, f.partner_id, installation_id, send_test=True))


BAD_HTTP = [
    ({"base_url": "http://erp.example.com/in", "allow_plain_http": "no"}, "not encrypted"),
    ({"base_url": "https://user:pw@erp.example.com/in"}, "may not hold a user or password"),
    ({"base_url": "https://erp.example.com/in?key=abc"}, "may not have a query"),
    ({"base_url": "ftp://erp.example.com/in"}, "must be an http:// or https:// URL"),
    ({"signing_secret": "not-a-secret"}, "starts with 'whsec_'"),
    ({"signing_secret": ""}, "missing required field"),
    ({"auth": "basic", "username": "firm"}, "needs a password"),
    ({"auth": "bearer"}, "needs a bearer token"),
    ({"auth": "api_key", "api_key": "k", "api_key_header": "Bad Header"}, "not a valid header"),
    ({"auth": "api_key", "api_key": "k", "api_key_header": "Idempotency-Key"}, "set by passeur"),
    ({"auth": "oauth2", "oauth_client_id": "id"}, "needs a token URL and a client secret"),
    (
        {
            "auth": "oauth2",
            "oauth_token_url": "http://login.example.com/t",
            "oauth_client_id": "i",
            "oauth_client_secret": "s",
            "allow_plain_http": "no",
            "base_url": "https://e.example.com",
        },
        "login.example.com/t is not encrypted",
    ),
    ({"auth": "kerberos"}, "must be one of"),
    ({"payload": "xml"}, "must be one of"),
    ({"timeout": "600"}, "at most 120"),
    ({"path": "../../etc"}, "may not contain '..'"),
    ({"path": "/[nope]"}, "unknown variable"),
    ({"ca_bundle": "not a certificate"}, "PEM certificates"),
    ({"token": "abc\r\nX-Evil: 1", "auth": "bearer"}, "line breaks"),
]


@pytest.mark.parametrize(("values", "reason"), BAD_HTTP)
def test_bad_http_installations_are_refused_and_nothing_is_saved(
    app: App, values: dict[str, str], reason: str
) -> None:
    f = firm(app, n_clients=1)
    given = {**http_values("https://erp.example.com/in"), **values}
    with pytest.raises(InvalidInput, match=reason):
        installations.install(app, f.partner_id, "http", "ERP", given)
    assert rows_in(app, installation_table) == 0


BAD_EMAIL = [
    (
        {"sender_address": "exports@firm.example\r\nBcc: spy@evil.example"},
        "line breaks|not an e-mail",
    ),
    ({"sender_address": "not an address"}, "not an e-mail address"),
    ({"sender_name": "Firm\r\nBcc: spy@evil.example"}, "line breaks"),
    ({"subject": "Invoice\nBcc: spy@evil.example"}, "line breaks"),
    ({"subject": "[secret_field]"}, "unknown variable"),
    ({"security": "none"}, "travel in clear"),
    ({"password": ""}, "both a username and a password"),
    ({"security": "ssl3"}, "must be one of"),
    ({"max_message_mb": "0"}, "at least 1"),
    ({"host": "smtp.example.com\r\nRCPT TO:<spy@evil.example>"}, "line breaks|not a host"),
    (
        {"ca_bundle": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
        "cannot be read",
    ),
]


@pytest.mark.parametrize(("values", "reason"), BAD_EMAIL)
def test_bad_email_installations_are_refused_and_nothing_is_saved(
    app: App, values: dict[str, str], reason: str
) -> None:
    f = firm(app, n_clients=1)
    given = {
        "host": "smtp.example.com",
        "username": "firm",
        "password": "pw-1234",
        "sender_address": "exports@firm.example",
        **values,
    }
    with pytest.raises(InvalidInput, match=reason):
        installations.install(app, f.partner_id, "email", "Mail", given)
    assert rows_in(app, installation_table) == 0


BAD_EMAIL_INTEGRATIONS = [
    ({}, "at least one destination address"),
    ({"purchases_address": ""}, "at least one destination address"),
    (
        {"purchases_address": "a@inbox.example\r\nBcc: spy@evil.example"},
        "line breaks|not an e-mail",
    ),
    ({"sales_address": "a@inbox.example, b@inbox.example"}, "not an e-mail address"),
    ({"purchases_address": "a@inbox.example", "security": "none"}, "travel in clear"),
    ({"purchases_address": "a@inbox.example", "per_minute": "1000"}, "unknown field"),
    ({"purchases_address": "a@inbox.example", "password": "x"}, "unknown field"),
    ({"purchases_address": "a@inbox.example", "subject": "[x]"}, "unknown variable"),
]


@pytest.mark.parametrize(("values", "reason"), BAD_EMAIL_INTEGRATIONS)
def test_bad_email_integrations_are_refused_and_nothing_is_saved(
    app: App, values: dict[str, str], reason: str
) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(
        app,
        f.partner_id,
        "email",
        "Mail",
        {
            "host": "smtp.example.com",
            "username": "firm",
            "password": "pw-1234",
            "sender_address": "exports@firm.example",
        },
    )
    with pytest.raises(InvalidInput, match=reason):
        integrations.add(app, f.partner_id, f.clients[0].id, inst.id, values)
    assert rows_in(app, integration_table) == 0


def test_an_update_that_breaks_a_rule_changes_nothing(app: App) -> None:
    f = firm(app, n_clients=1)
    inst = installations.install(
        app, f.partner_id, "http", "ERP", http_values("https://erp.example.com/in")
    )
    integration = integrations.add(
        app, f.partner_id, f.clients[0].id, inst.id, {"path": "/[uen_number]"}
    )
    with pytest.raises(InvalidInput, match="needs a bearer token"):
        installations.update(app, f.partner_id, inst.id, {"auth": "bearer"})
    with pytest.raises(InvalidInput, match="not encrypted"):
        integrations.update(
            app,
            f.partner_id,
            integration.id,
            {"base_url": "http://10.0.0.1/in", "allow_plain_http": "no"},
        )
    assert installations.get(app, f.partner_id, inst.id).config.get("auth") is None
    assert integrations.get(app, f.partner_id, integration.id).config == {"path": "/[uen_number]"}


def test_the_messages_per_minute_hold_across_workers(
    app: App, smtp: tuple[SmtpSandbox, SandboxTls], shared_data: Path
) -> None:
    server, tls = smtp
    f = firm(app, n_clients=1)
    values = email_values(server, tls, per_minute="1")
    inst = installations.install(app, f.partner_id, "email", "Mail", values)
    integrations.add(
        app, f.partner_id, f.clients[0].id, inst.id, {"purchases_address": "a@inbox.example"}
    )
    approve_invoices(app, f, shared_data, 3)
    [first] = claim(app.engine, "w1", 10, timedelta(seconds=30))  # two could run at once
    outcomes.finish(app.engine, first, Outcome(delivered=True, receipt={}), RetrySchedule())
    assert claim(app.engine, "w2", 10, timedelta(seconds=30)) == [], "one message a minute"
