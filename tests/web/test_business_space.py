"""The business space: a client's own people upload, approve and send; they reach nothing
of the partner space, and the partner space's users do not reach theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind, Lifecycle
from passeur.domain.exports import ExportState
from passeur.domain.partners import Role
from passeur.services import documents, exports, intake
from passeur.storage.repositories.exports import ExportFilter
from tests.factories import SAMPLE_INVOICE
from tests.web.browsing import signed_in, web_user
from tests.web.practice import Practice, practice, snapshot

SALES = "ubl/odoo-BEG-testcase01_minimal_invoice.xml"
SCRIPT = "<script>alert(1)</script>"
PARTNER_SPACE = ["/clients", "/exports", "/store", "/installations", "/settings/users"]


@pytest.fixture
def p(sqlite_app: App, shared_data: Path) -> Practice:
    made = practice(sqlite_app, shared_data, n_clients=2)
    web_user(sqlite_app, made.partner_id, "biz@client.be", Role.BUSINESS, client_id=made.clients[0])
    web_user(sqlite_app, made.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    return made


def blobs(app: App) -> list[str]:
    root = app.settings.data_dir / "blobs"
    return sorted(str(f) for f in root.rglob("*")) if root.exists() else []


def upload(browser: object, data: Path, name: str, kind: str, filename: str = "") -> object:
    source = data / name
    files = {"file": (filename or source.name, source.read_bytes(), "application/xml")}
    return browser.post("/business/documents", {"kind": kind}, files=files)  # type: ignore[attr-defined]


def test_upload_and_approve_create_the_exports(
    sqlite_app: App, p: Practice, shared_data: Path
) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    page = browser.get("/business")
    assert page.status_code == 200 and "Documents of Client 0" in page.text

    added = upload(browser, shared_data, SAMPLE_INVOICE, "purchase_invoice", "march.xml")
    assert added.status_code == 200 and added.url.path == "/business"  # type: ignore[attr-defined]
    assert "march.xml is added." in added.text  # type: ignore[attr-defined]
    [doc] = [
        d
        for d in documents.list_documents(sqlite_app, p.partner_id, p.clients[0])
        if d.filename == "march.xml"
    ]
    assert doc.lifecycle is Lifecycle.RECEIVED
    assert f'action="/business/documents/{doc.id}/approve"' in added.text  # type: ignore[attr-defined]
    assert exports.list_exports(sqlite_app, p.partner_id, ExportFilter(document_id=doc.id)) == []

    approved = browser.post(f"/business/documents/{doc.id}/approve")
    assert approved.status_code == 200 and "march.xml is approved" in approved.text
    assert f'action="/business/documents/{doc.id}/approve"' not in approved.text
    [row] = exports.list_exports(sqlite_app, p.partner_id, ExportFilter(document_id=doc.id))
    assert row["export"].integration_id == p.integrations[0]
    assert row["export"].state is ExportState.PENDING
    assert browser.post(f"/business/documents/{doc.id}/approve").status_code == 409


def test_a_sales_invoice_is_sent_not_approved(
    sqlite_app: App, p: Practice, shared_data: Path
) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    page = upload(browser, shared_data, SALES, "sales_invoice")
    [doc] = [
        d
        for d in documents.list_documents(sqlite_app, p.partner_id, p.clients[0])
        if d.filename == Path(SALES).name
    ]
    assert f'action="/business/documents/{doc.id}/send"' in page.text  # type: ignore[attr-defined]
    assert f'action="/business/documents/{doc.id}/approve"' not in page.text  # type: ignore[attr-defined]
    assert browser.post(f"/business/documents/{doc.id}/approve").status_code == 409
    sent = browser.post(f"/business/documents/{doc.id}/send")
    assert sent.status_code == 200 and "is sent" in sent.text
    assert documents.get(sqlite_app, p.partner_id, doc.id).lifecycle is Lifecycle.SENT


def test_a_refused_file_says_why_and_stores_nothing(
    sqlite_app: App, p: Practice, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    before, stored = snapshot(sqlite_app), blobs(sqlite_app)

    unknown = browser.post(
        "/business/documents",
        {"kind": ""},
        files={"file": (f"{SCRIPT}.bin", b"\x00\x01 not a document", "application/octet-stream")},
    )
    assert unknown.status_code == 400
    assert "was not stored" in unknown.text and 'id="f-file-error"' in unknown.text
    assert SCRIPT not in unknown.text and "&lt;script&gt;" in unknown.text
    none = browser.post("/business/documents", {"kind": ""}, files={"file": ("", b"", "")})
    assert none.status_code == 400 and "Choose a file to upload." in none.text
    monkeypatch.setattr(intake, "MAX_SIZE", 100)
    big = upload(browser, shared_data, SAMPLE_INVOICE, "purchase_invoice")
    assert big.status_code == 400 and "larger than" in big.text  # type: ignore[attr-defined]
    assert browser.post("/business/documents", {"kind": "cheque"}).status_code == 400

    assert snapshot(sqlite_app) == before and blobs(sqlite_app) == stored


def test_file_names_are_text(sqlite_app: App, p: Practice, shared_data: Path) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    page = upload(browser, shared_data, SAMPLE_INVOICE, "purchase_invoice", f"{SCRIPT}.xml")
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;.xml" in page.text  # type: ignore[attr-defined]


def test_nothing_of_the_partner_space_is_reachable(
    sqlite_app: App, p: Practice, shared_data: Path
) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    page = browser.get("/business").text
    for word in ("ntegration", "nstallation", "xport", "SFTP"):
        assert word not in page, word
    for url in [*PARTNER_SPACE, f"/exports/{p.exports[0]}", f"/clients/{p.clients[0]}"]:
        assert browser.get(url).status_code == 404, url
    before = snapshot(sqlite_app)
    assert browser.post(f"/exports/{p.exports[0]}/retry").status_code in (403, 404)
    assert browser.post("/exports/retry", {"confirm": "yes"}).status_code in (403, 404)
    # Another client's document is not theirs to approve: it does not exist for them.
    theirs = intake.upload(
        sqlite_app,
        p.partner_id,
        p.clients[1],
        "theirs.xml",
        (shared_data / SAMPLE_INVOICE).read_bytes(),
        kind=DocumentKind.PURCHASE_INVOICE,
    )
    before = snapshot(sqlite_app)
    assert browser.post(f"/business/documents/{theirs.id}/approve").status_code == 404
    assert "theirs.xml" not in browser.get("/business").text
    assert snapshot(sqlite_app) == before


def test_the_partner_space_has_no_business_space(sqlite_app: App, p: Practice) -> None:
    admin = signed_in(sqlite_app, "admin@firm.be")
    assert admin.get("/business").status_code == 404
    assert admin.post("/business/documents", {"kind": ""}).status_code == 404
    assert admin.client.post("/business/documents").status_code == 403, "no CSRF token"


def test_without_the_csrf_token_nothing_is_uploaded_or_approved(
    sqlite_app: App, p: Practice, shared_data: Path
) -> None:
    browser = signed_in(sqlite_app, "biz@client.be")
    source = (shared_data / SAMPLE_INVOICE).read_bytes()
    before = snapshot(sqlite_app)
    files = {"file": ("x.xml", source, "application/xml")}
    assert browser.client.post("/business/documents", files=files).status_code == 403
    docs = documents.list_documents(sqlite_app, p.partner_id, p.clients[0])
    assert browser.client.post(f"/business/documents/{docs[0].id}/approve").status_code == 403
    assert snapshot(sqlite_app) == before
