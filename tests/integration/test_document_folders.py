"""A client's folders (product.md §1.4), its files, and (re-)sending several documents."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.documents import (
    AccountingStatus,
    AwaitingClient,
    Direction,
    DocumentKind,
    Folder,
    folder_of,
)
from passeur.domain.errors import Forbidden, NotFound
from passeur.domain.partners import Access, Role
from passeur.formats.corpus.invoice_pdf import make_padded_pdf
from passeur.services import documents, installations, intake, integrations
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as rows
from passeur.storage.repositories.exports import ExportFilter, list_export_rows
from tests.factories import approve_invoices, firm, person, sample_invoice

SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}


def test_folders_in_sql_match_the_domain_mapping(app: App) -> None:
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    expected = dict.fromkeys(Folder, 0)
    made: dict[Folder, list[int]] = {folder: [] for folder in Folder}
    with transaction(app.engine) as conn:
        for kind, direction in itertools.product(DocumentKind, [None, *Direction]):
            doc_id = rows.add_document(
                conn,
                pid,
                cid,
                kind=kind.value,
                direction=direction.value if direction else None,
                filename=f"{kind.value}.xml",
                media_type="application/xml",
                sha256="0" * 64,
                size=1,
                metadata={},
                lifecycle="received",
                accounting_status="client_action_needed",
            )
            expected[folder_of(kind, direction)] += 1
            made[folder_of(kind, direction)].insert(0, doc_id)
    assert folder_of(DocumentKind.CREDIT_NOTE, Direction.SALES) is Folder.SALES_INVOICES
    assert folder_of(DocumentKind.CREDIT_NOTE, None) is Folder.PURCHASE_INVOICES
    for folder in Folder:
        page = documents.folder_page(app, pid, cid, folder)
        assert page.counts == expected
        assert [d.id for d in page.documents] == made[folder], folder
    second = documents.folder_page(app, pid, cid, Folder.PURCHASE_INVOICES, offset=2, limit=2)
    assert [d.id for d in second.documents] == made[Folder.PURCHASE_INVOICES][2:4]


def test_folders_are_for_those_who_see_documents(app: App) -> None:
    f = firm(app, n_clients=2)
    pid, (mine, other) = f.partner_id, [c.id for c in f.clients]
    viewer = person(app, pid, "v@firm.be", Role.ACCOUNTANT, assign={mine: Access.VIEW})
    manager = person(app, pid, "m@firm.be", Role.CLIENT_MANAGER)
    assert documents.folder_page(app, pid, mine, Folder.OTHER_DOCUMENTS, actor=viewer).total == 0
    with pytest.raises(Forbidden):
        documents.folder_page(app, pid, other, Folder.OTHER_DOCUMENTS, actor=viewer)
    with pytest.raises(Forbidden):
        documents.folder_page(app, pid, mine, Folder.OTHER_DOCUMENTS, actor=manager)


def test_open_file_streams_the_stored_blob_to_those_who_may_see_it(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    pid = f.partner_id
    pdf = make_padded_pdf(5000)
    doc = intake.upload(app, pid, f.clients[0].id, "receipt.pdf", pdf, kind=DocumentKind.OTHER)
    name, media_type, stream = documents.open_file(app, pid, doc.id, "original")
    with stream:
        assert (name, media_type, stream.read()) == ("receipt.pdf", "application/pdf", pdf)
    with pytest.raises(NotFound):
        documents.open_file(app, pid, doc.id, "pdf")
    outsider = person(app, pid, "o@firm.be", Role.ACCOUNTANT, assign={f.clients[1].id: Access.EDIT})
    with pytest.raises(Forbidden):
        documents.open_file(app, pid, doc.id, "original", actor=outsider)
    stranger = person(app, firm(app, 1, "Other").partner_id, "s@o.be", Role.ADMINISTRATOR)
    with pytest.raises(NotFound):
        documents.open_file(app, pid, doc.id, "original", actor=stranger)
    invoice = sample_invoice(app, f, shared_data)
    assert [x.role for x in documents.files(app, pid, invoice.id)] == ["original"]


def test_resend_many_is_all_or_none(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    inst = installations.install(app, pid, "sftp", "SFTP", SFTP_VALUES).id
    integrations.add(app, pid, cid, inst, {})
    released = approve_invoices(app, f, shared_data, 2)
    waiting = sample_invoice(app, f, shared_data)
    with pytest.raises(AwaitingClient) as refused:
        documents.resend_many(app, pid, [*released, waiting.id])
    assert refused.value.document_id == waiting.id
    with reading(app.engine) as conn:
        assert len(list_export_rows(conn, pid, ExportFilter())) == 2, "nothing was created"
    assert documents.resend_many(app, pid, released) == 2
    documents.mark_processed(app, pid, released)
    viewer = person(app, pid, "v@firm.be", Role.ACCOUNTANT, assign={cid: Access.VIEW})
    with pytest.raises(Forbidden):
        documents.resend_many(app, pid, released, actor=viewer)
    statuses = {documents.get(app, pid, d).accounting_status for d in released}
    assert statuses == {AccountingStatus.PROCESSED}
