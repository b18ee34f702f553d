"""A client's documents: folders, bulk actions, a document's page and its files, by role."""

from __future__ import annotations

import re
from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.documents import AccountingStatus, DocumentKind
from passeur.domain.partners import Access, Role
from passeur.formats.corpus.invoice_pdf import make_padded_pdf
from passeur.services import documents, installations, intake, integrations
from passeur.storage.db import transaction
from passeur.storage.repositories import documents as rows
from tests.factories import approve_invoices, firm, sample_invoice
from tests.web.browsing import Browser, signed_in, web_user

SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}
XSS = "<script>alert(1)</script>"
CODA = "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt"


def sign_in_as(app: App, partner_id: int, email: str, *roles: Role, **kw: object) -> Browser:
    web_user(app, partner_id, email, *roles, **kw)  # type: ignore[arg-type]
    return signed_in(app, email)


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<th scope="row"><a href="/documents/(\d+)">', html)]


def test_folders_with_counts_and_the_document_rows(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    released = approve_invoices(app, f, shared_data, 2)
    coda = intake.upload(app, pid, cid, "bank.cod", (shared_data / CODA).read_bytes())
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)

    page = admin.get(f"/clients/{cid}/documents?folder=purchase_invoices")
    assert page.status_code == 200
    assert 'folder=purchase_invoices" aria-current="page">Purchase invoices' in page.text
    assert 'Purchase invoices <span class="count">(2)</span>' in page.text
    assert 'Enriched Movement Reports <span class="count">(1)</span>' in page.text
    assert listed_ids(page.text) == sorted(released, reverse=True)
    assert "SupplierOfficialName Ltd" in page.text and "1.656,25" in page.text
    assert "13 Nov 2017" in page.text and "Ready to process" in page.text
    assert "Mark as processed" in page.text and "(Re-)send to integrations" in page.text
    assert admin.get(f"/clients/{cid}").url.path == f"/clients/{cid}/documents"

    statements = admin.get(f"/clients/{cid}/documents?folder=enriched_movement_reports")
    assert listed_ids(statements.text) == [coda.id]
    assert "BE33737018595246" in statements.text and "13.527,81" in statements.text


def test_a_folder_is_paginated_by_fifty(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    with transaction(app.engine) as conn:
        made = [
            rows.add_document(
                conn,
                pid,
                cid,
                kind="other",
                direction=None,
                filename=f"note-{i}.pdf",
                media_type="application/pdf",
                sha256="0" * 64,
                size=10,
                number=f"N{i:03d}",
                metadata={},
                lifecycle="received",
                accounting_status="client_action_needed",
            )
            for i in range(55)
        ]
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    first = admin.get(f"/clients/{cid}/documents?folder=other_documents")
    assert listed_ids(first.text) == made[::-1][:50] and "Page 1 of 2" in first.text
    second = admin.get(f"/clients/{cid}/documents?folder=other_documents&page=2")
    assert listed_ids(second.text) == made[::-1][50:]
    assert f'href="/clients/{cid}/documents?folder=other_documents&amp;page=1"' in second.text


def test_mark_as_processed_and_resend_from_the_folder(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    released = approve_invoices(app, f, shared_data, 2)
    waiting = sample_invoice(app, f, shared_data)
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    admin.get(f"/clients/{cid}/documents")

    refused = admin.post(
        f"/clients/{cid}/documents",
        {"action": "processed", "folder": "purchase_invoices", "document": [*released, waiting.id]},
    )
    assert refused.status_code == 409
    assert "Nothing was changed" in refused.text and "still waits for the client" in refused.text
    status = {documents.get(app, pid, d).accounting_status for d in released}
    assert status == {AccountingStatus.READY_TO_PROCESS}, "all or none"

    none = admin.post(f"/clients/{cid}/documents", {"action": "processed"})
    assert none.status_code == 400 and "Select at least one document first." in none.text

    done = admin.post(
        f"/clients/{cid}/documents",
        {"action": "processed", "folder": "purchase_invoices", "document": released},
    )
    assert done.status_code == 200 and "2 documents marked as processed." in done.text
    assert {documents.get(app, pid, d).accounting_status for d in released} == {
        AccountingStatus.PROCESSED
    }

    nothing = admin.post(f"/clients/{cid}/documents", {"action": "resend", "document": released})
    assert "nothing was sent" in nothing.text
    inst = installations.install(app, pid, "sftp", "SFTP", SFTP_VALUES).id
    integrations.add(app, pid, cid, inst, {})
    sent = admin.post(f"/clients/{cid}/documents", {"action": "resend", "document": released})
    assert sent.status_code == 200 and "2 new exports created" in sent.text
    assert documents.get(app, pid, released[0]).accounting_status is AccountingStatus.QUEUED
    waits = admin.post(f"/clients/{cid}/documents", {"action": "resend", "document": waiting.id})
    assert waits.status_code == 409 and "Nothing was sent" in waits.text


def test_the_document_page_shows_metadata_files_and_exports(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    inst = installations.install(app, pid, "sftp", "My SFTP", SFTP_VALUES).id
    integrations.add(app, pid, cid, inst, {})
    [invoice] = approve_invoices(app, f, shared_data, 1)
    coda = intake.upload(app, pid, cid, "bank.cod", (shared_data / CODA).read_bytes())
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)

    page = admin.get(f"/documents/{invoice}")
    assert page.status_code == 200
    assert "<h1>Purchase invoice Snippet1</h1>" in page.text
    for text in (
        "SupplierOfficialName Ltd",  # the legal name, with the trading name apart
        "Trading name SupplierTradingName Ltd.",
        "Buyer Official Name",
        "Trading name BuyerTradingName AS",
        "1.325,00",
        "331,25",
    ):
        assert text in page.text, text
    assert "01 Dec 2017" in page.text, "the due date"
    assert f'href="/documents/{invoice}/files/original"' in page.text
    assert "My SFTP" in page.text and "Waiting" in page.text, "its export and its state"

    statement = admin.get(f"/documents/{coda.id}")
    for text in ("BE33737018595246", "NOVIAT NV", "11.812,70", "13.527,81", "KREDBEBB"):
        assert text in statement.text, text


def test_files_stream_pdf_inline_and_everything_else_as_a_sandboxed_attachment(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    pdf = make_padded_pdf(4000)
    receipt = intake.upload(app, pid, cid, "reçu 1.pdf", pdf, kind=DocumentKind.OTHER)
    invoice = sample_invoice(app, f, shared_data)
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)

    shown = admin.get(f"/documents/{receipt.id}/files/original")
    assert shown.status_code == 200 and shown.content == pdf
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"] == (
        "inline; filename=\"re_u 1.pdf\"; filename*=UTF-8''re%C3%A7u%201.pdf"
    )
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" not in shown.headers.get("content-security-policy", "")

    xml = admin.get(f"/documents/{invoice.id}/files/original")
    assert xml.content == (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    assert xml.headers["content-disposition"].startswith("attachment;")
    assert xml.headers["content-security-policy"] == "sandbox"
    assert xml.headers["x-content-type-options"] == "nosniff"
    assert admin.get(f"/documents/{invoice.id}/files/pdf").status_code == 404


def test_a_hostile_file_name_is_text_on_pages_and_cannot_inject_headers(
    sqlite_app: App,
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    name = f'a"b;X-Injected: yes;{XSS}.pdf'  # line breaks are refused at intake
    doc = intake.upload(app, pid, cid, name, make_padded_pdf(3000), kind=DocumentKind.OTHER)
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    for url in (f"/clients/{cid}/documents?folder=other_documents", f"/documents/{doc.id}"):
        page = admin.get(url)
        assert XSS not in page.text and "&lt;script&gt;" in page.text, url
    got = admin.get(f"/documents/{doc.id}/files/original")
    assert got.status_code == 200 and "x-injected" not in got.headers
    disposition = got.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    fallback = re.fullmatch(r'inline; filename="([^"]*)"; filename\*=UTF-8\'\'(\S+)', disposition)
    assert fallback is not None, disposition
    assert "<" not in fallback.group(2) and '"' not in fallback.group(2)


def test_an_accountant_with_view_sees_documents_and_cannot_act(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    released = approve_invoices(app, f, shared_data, 1)
    viewer = sign_in_as(app, pid, "viewer@firm.be", Role.ACCOUNTANT, assign={cid: Access.VIEW})
    page = viewer.get(f"/clients/{cid}/documents")
    assert page.status_code == 200 and listed_ids(page.text) == released
    assert "Mark as processed" not in page.text and 'type="checkbox"' not in page.text
    document = viewer.get(f"/documents/{released[0]}")
    assert document.status_code == 200 and "Mark as processed" not in document.text
    assert viewer.get(f"/documents/{released[0]}/files/original").status_code == 200
    for action in ("processed", "resend"):
        refused = viewer.post(f"/clients/{cid}/documents", {"action": action, "document": released})
        assert refused.status_code == 403, action
    assert documents.get(app, pid, released[0]).accounting_status is (
        AccountingStatus.READY_TO_PROCESS
    )


def test_others_get_not_found_on_documents(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    pid, (cid, other) = f.partner_id, [c.id for c in f.clients]
    [doc] = approve_invoices(app, f, shared_data, 1)
    manager = sign_in_as(app, pid, "manager@firm.be", Role.CLIENT_MANAGER)
    elsewhere = sign_in_as(app, pid, "else@firm.be", Role.ACCOUNTANT, assign={other: Access.EDIT})
    stranger_firm = firm(app, n_clients=1, name="Other firm")
    stranger = sign_in_as(app, stranger_firm.partner_id, "boss@other.be", Role.ADMINISTRATOR)
    urls = (
        f"/clients/{cid}/documents",
        f"/documents/{doc}",
        f"/documents/{doc}/files/original",
    )
    for browser in (manager, elsewhere, stranger):
        for url in urls:
            assert browser.get(url).status_code == 404, url
    assert manager.get(f"/clients/{cid}/team").status_code == 200
    assert stranger.post(
        f"/clients/{cid}/documents", {"action": "processed", "document": doc}
    ).status_code in (403, 404)
    assert (
        elsewhere.post(
            f"/clients/{other}/documents", {"action": "processed", "document": doc}
        ).status_code
        == 403
    ), "a document of a client the accountant is not assigned to"
    assert documents.get(app, pid, doc).accounting_status is AccountingStatus.READY_TO_PROCESS


def test_bulk_actions_need_the_csrf_token(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    [doc] = approve_invoices(app, f, shared_data, 1)
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    refused = admin.client.post(
        f"/clients/{cid}/documents", data={"action": "processed", "document": str(doc)}
    )
    assert refused.status_code == 403
    assert documents.get(app, pid, doc).accounting_status is AccountingStatus.READY_TO_PROCESS


def test_a_bulk_action_takes_only_this_clients_documents_and_a_bounded_number(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    pid, first = f.partner_id, f.clients[0].id
    mine = approve_invoices(app, f, shared_data, 1, client=0)
    theirs = approve_invoices(app, f, shared_data, 1, client=1)
    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    admin.get(f"/clients/{first}/documents")
    crossed = admin.post(
        f"/clients/{first}/documents", {"action": "processed", "document": [*mine, *theirs]}
    )
    assert crossed.status_code == 404
    too_many = admin.post(
        f"/clients/{first}/documents", {"action": "processed", "document": ["1"] * 501}
    )
    assert too_many.status_code == 400
    for bad in ("-1", "1" * 19, "x"):
        wrong = admin.post(f"/clients/{first}/documents", {"action": "processed", "document": bad})
        assert wrong.status_code == 400, bad
    statuses = {documents.get(app, pid, d).accounting_status for d in [*mine, *theirs]}
    assert statuses == {AccountingStatus.READY_TO_PROCESS}, "nothing changed"
