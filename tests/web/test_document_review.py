"""The document page of an invoice whose totals do not add up: the warning, the button that
marks it reviewed (for those who may process it), and who reviewed it."""

from __future__ import annotations

from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import Access, Role
from passeur.services import documents, intake
from tests.factories import firm
from tests.web.test_client_documents import sign_in_as

BUTTON = "Mark as reviewed"


def test_the_accountant_sees_the_warning_and_marks_the_document_reviewed(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    doc = intake.upload(app, pid, cid, "b.xml", broken, kind=DocumentKind.PURCHASE_INVOICE)
    viewer = sign_in_as(app, pid, "viewer@firm.be", Role.ACCOUNTANT, assign={cid: Access.VIEW})
    seen = viewer.get(f"/documents/{doc.id}")
    assert "Needs a look before it is booked" in seen.text and BUTTON not in seen.text
    assert viewer.post(f"/documents/{doc.id}/review").status_code == 403
    assert documents.get(app, pid, doc.id).awaiting_review, "a refusal changes nothing"

    admin = sign_in_as(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    page = admin.get(f"/documents/{doc.id}")
    assert BUTTON in page.text
    assert "the totals do not add up (BR-CO-16)" in page.text, "the warning in words"
    done = admin.post(f"/documents/{doc.id}/review")
    assert done.status_code == 200 and done.url.path == f"/documents/{doc.id}"
    assert BUTTON not in done.text and "Needs a look" not in done.text
    assert "were reviewed by" in done.text
    assert admin.post(f"/documents/{doc.id}/review").status_code == 409  # already done
