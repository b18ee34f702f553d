"""Intake with the generated corpus: the content decides purchase or sale, duplicates are
flagged, every generated document is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.documents import Direction, DocumentKind, Lifecycle
from passeur.domain.errors import InvalidInput
from passeur.domain.partners import Client, ClientStatus
from passeur.formats.corpus import GeneratedFile, generate
from passeur.services import clients, intake, partners


@pytest.fixture
def corpus(tmp_path: Path) -> list[GeneratedFile]:
    return generate(tmp_path / "corpus", clients=1, seed=5, per_client=4)


@pytest.fixture
def client(app: App, corpus: list[GeneratedFile]) -> Client:
    partner = partners.create_partner(app, "Firm")
    return clients.create_client(
        app,
        partner.id,
        corpus[0].client_name,
        uen_number=corpus[0].client_enterprise_number,
        status=ClientStatus.ACTIVE,
    )


def test_every_generated_document_is_read_with_its_side(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    for generated in corpus:
        kind = generated.kind if generated.type == "pdf" else None
        direction = generated.direction if generated.type == "pdf" else None
        doc = intake.upload(
            app,
            client.partner_id,
            client.id,
            generated.path.name,
            generated.path.read_bytes(),
            kind=kind,
            direction=direction,
        )
        assert doc.kind is generated.kind, generated.path
        assert doc.number == (generated.number if generated.type != "pdf" else "")
        if generated.type == "ubl":
            assert doc.direction is generated.direction
            assert doc.issue_date == generated.issue_date
        if generated.type == "coda":
            assert doc.lifecycle is Lifecycle.ARRIVED


def test_a_kind_that_contradicts_the_content_is_refused(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    sale = next(f for f in corpus if f.type == "ubl" and f.kind is DocumentKind.SALES_INVOICE)
    with pytest.raises(InvalidInput, match="is a sales invoice, not a purchase invoice"):
        intake.upload(
            app,
            client.partner_id,
            client.id,
            sale.path.name,
            sale.path.read_bytes(),
            kind=DocumentKind.PURCHASE_INVOICE,
        )
    with pytest.raises(InvalidInput, match="as supplier: it is a sales document"):
        intake.upload(
            app,
            client.partner_id,
            client.id,
            sale.path.name,
            sale.path.read_bytes(),
            direction=Direction.PURCHASE,
        )


def test_the_embedded_pdf_becomes_the_documents_pdf(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    from passeur.storage.db import reading
    from passeur.storage.repositories import documents as rows

    ubl = next(f for f in corpus if f.type == "ubl")
    pdf = next(f for f in corpus if f.type == "pdf" and f.number == ubl.number)
    doc = intake.upload(app, client.partner_id, client.id, ubl.path.name, ubl.path.read_bytes())
    with reading(app.engine) as conn:
        files = rows.files_of(conn, doc.id)
    assert [f.role for f in files] == ["original", "pdf"]
    with app.blobs.open(files[1].sha256) as stored:
        assert stored.read() == pdf.path.read_bytes()


def test_likely_duplicates_are_kept_and_flagged(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    ubl = next(f for f in corpus if f.type == "ubl")
    data = ubl.path.read_bytes()
    first = intake.upload(app, client.partner_id, client.id, "a.xml", data)
    again = intake.upload(app, client.partner_id, client.id, "b.xml", data)
    assert "duplicate_of" not in first.metadata
    assert again.metadata["duplicate_of"] == {"document_id": first.id, "reason": "same content"}
    # Same supplier, number and amount, different bytes (e.g. re-exported by the supplier).
    reworded = data.replace(b"<cbc:Note>", b"<cbc:Note>Copy. ", 1)
    if reworded == data:
        reworded = data.replace(b"</cbc:ID>", b"</cbc:ID><!-- copy -->", 1)
    third = intake.upload(app, client.partner_id, client.id, "c.xml", reworded)
    assert third.metadata["duplicate_of"] == {
        "document_id": first.id,
        "reason": "same supplier, number and amount",
    }
