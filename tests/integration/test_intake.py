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
from passeur.storage.db import reading
from passeur.storage.repositories import documents as rows


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


def _stored_blobs(app: App) -> list[Path]:
    root = app.settings.data_dir / "blobs"
    found = sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return [p for p in found if p != root / "layout"]  # the store's own, not a blob


def test_a_bulk_upload_stores_every_file_as_a_single_upload_would(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    readable = [f for f in corpus if f.type != "pdf"]  # a PDF needs its kind said
    files = [(f.path.name, f.path.read_bytes()) for f in readable]
    stored = intake.upload_many(app, client.partner_id, client.id, files)
    assert [d.filename for d in stored] == [name for name, _ in files]  # in order
    by_name = {f.path.name: f for f in corpus}
    for doc in stored:
        expected = by_name[doc.filename]
        assert doc.kind is expected.kind and doc.number == expected.number
        with app.blobs.open(doc.sha256) as blob:
            assert blob.read() == expected.path.read_bytes()
        released = expected.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT
        assert (doc.lifecycle is Lifecycle.ARRIVED) is released  # statements go out at once
    with reading(app.engine) as conn:  # an embedded PDF is stored with its invoice
        roles = {d.filename: [f.role for f in rows.files_of(conn, d.id)] for d in stored}
    assert any(r == ["original", "pdf"] for r in roles.values())
    single = intake.upload(app, client.partner_id, client.id, "again.xml", files[0][1])
    assert single.metadata["duplicate_of"]["document_id"] == stored[0].id
    assert not list((app.settings.data_dir / "blobs" / "staging").iterdir())
    with reading(app.engine) as conn:  # what intake hands back is what was stored
        ids = [d.id for d in [*stored, single]]
        assert rows.get_documents(conn, client.partner_id, ids) == [*stored, single]


def test_one_refused_file_in_a_bulk_upload_stores_nothing(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    files = [(f.path.name, f.path.read_bytes()) for f in corpus if f.type != "pdf"]
    files.insert(1, ("notes.txt", b"not a document"))
    with pytest.raises(InvalidInput, match=r"notes\.txt"):
        intake.upload_many(app, client.partner_id, client.id, files)
    assert _stored_blobs(app) == []
    assert intake_documents(app, client) == 0


def intake_documents(app: App, client: Client) -> int:
    from passeur.services import documents

    return len(documents.list_documents(app, client.partner_id, client.id))


def test_a_repeat_within_one_bulk_upload_is_flagged_like_a_later_upload(
    app: App, client: Client, corpus: list[GeneratedFile]
) -> None:
    ubl = next(f for f in corpus if f.type == "ubl")
    data = ubl.path.read_bytes()
    reworded = data.replace(b"</cbc:ID>", b"</cbc:ID><!-- copy -->", 1)
    first, same, similar = intake.upload_many(
        app, client.partner_id, client.id, [("a.xml", data), ("b.xml", data), ("c.xml", reworded)]
    )
    assert "duplicate_of" not in first.metadata
    assert same.metadata["duplicate_of"] == {"document_id": first.id, "reason": "same content"}
    assert similar.metadata["duplicate_of"] == {
        "document_id": first.id,
        "reason": "same supplier, number and amount",
    }
    [later] = intake.upload_many(app, client.partner_id, client.id, [("d.xml", data)])
    assert later.metadata["duplicate_of"] == {"document_id": first.id, "reason": "same content"}


def test_a_disk_failure_during_a_bulk_upload_stores_nothing(
    app: App, client: Client, corpus: list[GeneratedFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [(f.path.name, f.path.read_bytes()) for f in corpus if f.type != "pdf"]
    real_stage = app.blobs.stage
    calls: list[bytes] = []

    def stage_then_fail(data: bytes) -> object:
        calls.append(data)
        if len(calls) == 2:
            raise OSError("no space left on device")
        return real_stage(data)

    monkeypatch.setattr(app.blobs, "stage", stage_then_fail)
    with pytest.raises(OSError, match="no space"):
        intake.upload_many(app, client.partner_id, client.id, files)
    assert _stored_blobs(app) == []
    assert intake_documents(app, client) == 0


@pytest.mark.parametrize("count", [0, intake.BATCH_LIMIT + 1])
def test_a_bulk_upload_of_no_file_or_too_many_is_refused(
    app: App, client: Client, count: int
) -> None:
    files = [(f"f{n}.xml", b"<x/>") for n in range(count)]
    with pytest.raises(InvalidInput, match="1 to 500 files"):
        intake.upload_many(app, client.partner_id, client.id, files)
    assert intake_documents(app, client) == 0 and _stored_blobs(app) == []
