"""Approving a document and creating its exports is one transaction (the outbox)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from passeur.bootstrap import App, build
from passeur.delivery import outbox, wakeups
from passeur.domain.documents import AccountingStatus, DocumentKind, Lifecycle
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, intake, integrations
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import releases
from passeur.storage.tables import documents as documents_table
from passeur.storage.tables import exports as exports_table
from tests.conftest import make_settings
from tests.factories import add_integration, firm, sample_invoice, sftp_installation, upload_invoice


def count_exports(app: App) -> int:
    with reading(app.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(exports_table)).scalar_one())


def test_approval_creates_one_export_per_receiving_integration(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    first = sftp_installation(app, f.partner_id, sftp)
    second = sftp_installation(app, f.partner_id, sftp, upload_path="/copy/[invoice_type]")
    add_integration(app, f.partner_id, f.clients[0].id, first)
    add_integration(app, f.partner_id, f.clients[0].id, second)
    add_integration(app, f.partner_id, f.clients[1].id, first)
    doc = sample_invoice(app, f, shared_data)
    assert doc.accounting_status is AccountingStatus.CLIENT_ACTION_NEEDED
    assert count_exports(app) == 0
    approved = documents.approve(app, f.partner_id, doc.id)
    assert approved.lifecycle is Lifecycle.APPROVED
    assert approved.accounting_status is AccountingStatus.QUEUED
    assert count_exports(app) == 2  # the other client's integration gets nothing


def test_a_batch_gives_each_document_its_own_clients_integrations(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """The batch's read joins each document to its client's integrations: a document of a
    client with two gets two exports, one of a client with none gets none, and a
    disconnected integration takes nothing."""
    f = firm(app, n_clients=3)
    first = sftp_installation(app, f.partner_id, sftp)
    second = sftp_installation(app, f.partner_id, sftp, upload_path="/copy")
    both = [add_integration(app, f.partner_id, f.clients[0].id, i) for i in (first, second)]
    gone = add_integration(app, f.partner_id, f.clients[2].id, first)
    with transaction(app.engine) as conn:  # its target said it is gone (410)
        installation_rows.update_integration(
            conn, gone, status=IntegrationStatus.DISCONNECTED.value
        )
    docs = [sample_invoice(app, f, shared_data, client=n) for n in (0, 0, 1, 2)]
    released = documents.approve_many(app, f.partner_id, [d.id for d in reversed(docs)])
    assert [d.id for d in released] == [d.id for d in reversed(docs)]
    # The documents handed back are the documents as stored now.
    assert released == [documents.get(app, f.partner_id, d.id) for d in reversed(docs)]
    made = {
        (r["export"].document_id, r["export"].integration_id)
        for r in exports.list_exports(app, f.partner_id)
    }
    assert made == {(d.id, i) for d in docs[:2] for i in both}
    statuses = [documents.get(app, f.partner_id, d.id).accounting_status for d in docs]
    assert statuses[:2] == [AccountingStatus.QUEUED] * 2
    assert statuses[2:] == [AccountingStatus.READY_TO_PROCESS] * 2


def test_a_release_reads_no_integrations_secrets(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """Planning an approval's exports needs an integration's status, dates and values,
    never its sealed secrets: they are not read into the approving process."""
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    doc = sample_invoice(app, f, shared_data, client=0)
    with transaction(app.engine) as conn:
        read = releases.read_for_release(conn, f.partner_id, [doc.id])
    [row] = read.receiving[f.clients[0].id]
    assert row.status == IntegrationStatus.ACTIVE.value and row.extension == "sftp"
    assert not hasattr(row, "secrets")


def test_only_integrations_active_before_the_approval_get_an_export(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    client = f.clients[0].id
    inst = sftp_installation(app, f.partner_id, sftp)
    doc = upload_invoice(
        app,
        f.partner_id,
        client,
        shared_data / "ubl/peppol-base-example.xml",
        DocumentKind.PURCHASE_INVOICE,
    )
    documents.approve(app, f.partner_id, doc.id)  # no integration yet
    add_integration(app, f.partner_id, client, inst)
    assert count_exports(app) == 0, "history is not exported unless asked"
    assert documents.get(app, f.partner_id, doc.id).accounting_status is (
        AccountingStatus.READY_TO_PROCESS
    )


def test_a_paused_integration_holds_and_a_switched_off_installation_takes_nothing(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    client = f.clients[0].id
    paused_inst = sftp_installation(app, f.partner_id, sftp)
    off_inst = sftp_installation(app, f.partner_id, sftp, upload_path="/off")
    paused = add_integration(app, f.partner_id, client, paused_inst)
    add_integration(app, f.partner_id, client, off_inst)
    integrations.pause(app, f.partner_id, paused)
    installations.set_active(app, f.partner_id, off_inst, False)
    doc = upload_invoice(
        app,
        f.partner_id,
        client,
        shared_data / "ubl/peppol-base-example.xml",
        DocumentKind.PURCHASE_INVOICE,
    )
    documents.approve(app, f.partner_id, doc.id)
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].integration_id == paused
    assert row["export"].state is ExportState.HELD
    assert documents.get(app, f.partner_id, doc.id).accounting_status is AccountingStatus.QUEUED


def test_a_failure_while_creating_exports_rolls_the_approval_back(
    app: App, sftp: SftpSandbox, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    doc = sample_invoice(app, f, shared_data)
    real = outbox.release_with_exports

    def create_then_crash(*args: object, **kwargs: object) -> list[int]:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("power cut between the export rows and the commit")

    monkeypatch.setattr(outbox, "release_with_exports", create_then_crash)
    with pytest.raises(RuntimeError):
        documents.approve(app, f.partner_id, doc.id)
    assert count_exports(app) == 0
    again = documents.get(app, f.partner_id, doc.id)
    assert again.lifecycle is Lifecycle.RECEIVED
    assert again.accounting_status is AccountingStatus.CLIENT_ACTION_NEEDED
    monkeypatch.setattr(outbox, "release_with_exports", real)
    documents.approve(app, f.partner_id, doc.id)
    assert count_exports(app) == 1


def test_statements_go_out_on_arrival_and_sales_when_sent(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    client = f.clients[0].id
    add_integration(app, f.partner_id, client, sftp_installation(app, f.partner_id, sftp))
    coda = shared_data / "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt"
    statement = intake.upload(app, f.partner_id, client, coda.name, coda.read_bytes())
    assert statement.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT
    assert statement.lifecycle is Lifecycle.ARRIVED
    assert count_exports(app) == 1
    sale = upload_invoice(
        app,
        f.partner_id,
        client,
        shared_data / "ubl/peppol-vat-category-O.xml",
        DocumentKind.SALES_INVOICE,
    )
    with pytest.raises(Conflict, match="released by 'sent'"):
        documents.approve(app, f.partner_id, sale.id)
    assert count_exports(app) == 1
    documents.send(app, f.partner_id, sale.id)
    assert count_exports(app) == 2


def test_approving_twice_changes_nothing(app: App, sftp: SftpSandbox, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    doc = sample_invoice(app, f, shared_data)
    documents.approve(app, f.partner_id, doc.id)
    with pytest.raises(Conflict, match="already approved"):
        documents.approve(app, f.partner_id, doc.id)
    assert count_exports(app) == 1
    with reading(app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(documents_table)).scalar_one() == 1


def test_many_documents_are_approved_in_one_call_for_every_client(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    inst = sftp_installation(app, f.partner_id, sftp)
    add_integration(app, f.partner_id, f.clients[0].id, inst)  # the second client has none
    first = [sample_invoice(app, f, shared_data).id for _ in range(3)]
    other = sample_invoice(app, f, shared_data, client=1).id
    ids = [first[2], other, first[0], first[1]]
    approved = documents.approve_many(app, f.partner_id, ids)
    assert [d.id for d in approved] == ids  # in the order asked
    assert {d.lifecycle for d in approved} == {Lifecycle.APPROVED}
    status = {d.id: d.accounting_status for d in approved}
    assert status == {
        **{i: AccountingStatus.QUEUED for i in first},
        other: AccountingStatus.READY_TO_PROCESS,  # no integration: nothing to wait for
    }
    assert count_exports(app) == 3
    for document_id in ids:  # what was returned is what is stored
        assert (
            documents.get(app, f.partner_id, document_id).accounting_status is status[document_id]
        )


@pytest.mark.parametrize("bad", ["approved", "sales", "missing", "another firm's"])
def test_one_document_that_cannot_be_approved_leaves_the_whole_batch_as_it_was(
    app: App, sftp: SftpSandbox, shared_data: Path, bad: str
) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    good = [sample_invoice(app, f, shared_data).id for _ in range(2)]
    if bad == "approved":
        culprit = documents.approve(app, f.partner_id, sample_invoice(app, f, shared_data).id).id
    elif bad == "sales":
        sale = shared_data / "ubl/peppol-base-example.xml"
        culprit = upload_invoice(
            app, f.partner_id, f.clients[0].id, sale, DocumentKind.SALES_INVOICE
        ).id
    elif bad == "missing":
        culprit = 10_000
    else:
        elsewhere = firm(app, n_clients=1, name="Elsewhere")
        culprit = sample_invoice(app, elsewhere, shared_data).id
    before = count_exports(app)
    with pytest.raises((Conflict, NotFound)):
        documents.approve_many(app, f.partner_id, [good[0], culprit, good[1]])
    assert count_exports(app) == before
    for document_id in good:
        again = documents.get(app, f.partner_id, document_id)
        assert again.lifecycle is Lifecycle.RECEIVED
        assert again.accounting_status is AccountingStatus.CLIENT_ACTION_NEEDED


def test_a_batch_has_a_limit(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    doc = sample_invoice(app, f, shared_data)
    with pytest.raises(InvalidInput, match="at most 500"):
        documents.approve_many(app, f.partner_id, [doc.id] * 501)
    assert documents.get(app, f.partner_id, doc.id).lifecycle is Lifecycle.RECEIVED


def test_an_approvals_exports_start_as_the_ledger_expects(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """One pending and one held export, written by the release's statement (one on
    PostgreSQL, several on SQLite): every column a worker or a page reads is set."""
    f = firm(app, n_clients=1)
    client = f.clients[0].id
    live = add_integration(app, f.partner_id, client, sftp_installation(app, f.partner_id, sftp))
    paused_inst = sftp_installation(app, f.partner_id, sftp, upload_path="/held")
    paused = add_integration(app, f.partner_id, client, paused_inst)
    integrations.pause(app, f.partner_id, paused)
    doc = sample_invoice(app, f, shared_data)
    released = documents.approve(app, f.partner_id, doc.id)
    assert released.lifecycle is Lifecycle.APPROVED
    assert released.accounting_status is AccountingStatus.QUEUED
    with reading(app.engine) as conn:
        rows = {r.integration_id: r for r in conn.execute(select(exports_table))}
        stored = conn.execute(select(documents_table)).one()
    assert stored.released_at == stored.updated_at == rows[live].created_at
    for row in rows.values():
        assert (row.partner_id, row.document_id, row.version) == (f.partner_id, doc.id, 1)
        assert (row.attempts, row.schedule_base, row.lease_owner) == (0, 0, "")
        assert row.updated_at == row.created_at == stored.released_at
        assert row.delivered_at is None and row.receipt is None
    assert rows[live].state == ExportState.PENDING.value
    assert rows[live].due_at == rows[live].created_at
    assert rows[paused].state == ExportState.HELD.value and rows[paused].due_at is None
    assert rows[paused].installation_id == paused_inst


@pytest.fixture
def pg_app(tmp_path: Path, postgres_url: str) -> Iterator[App]:
    built = build(make_settings(tmp_path / "data", postgres_url))
    yield built
    built.close()


def test_on_postgresql_an_approval_wakes_workers_only_for_a_pending_export(
    pg_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """Workers LISTEN for new work (SQLite's watch data_version instead); a release that
    makes a pending export notifies them at its commit, one whose exports are all held
    does not."""
    app = pg_app
    f = firm(app, n_clients=2)
    inst = sftp_installation(app, f.partner_id, sftp)
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    integrations.pause(app, f.partner_id, add_integration(app, f.partner_id, f.clients[1].id, inst))
    held = sample_invoice(app, f, shared_data, client=1)
    pending = sample_invoice(app, f, shared_data, client=0)
    conninfo = app.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {wakeups.CHANNEL}")
        documents.approve(app, f.partner_id, held.id)
        assert list(listener.notifies(timeout=0.5)) == []
        documents.approve(app, f.partner_id, pending.id)
        heard = next(listener.notifies(timeout=30))
        assert heard.channel == wakeups.CHANNEL
