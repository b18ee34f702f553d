"""e-fff output: every generated file is read back by intake's own parser, with its PDF;
a UBL's other bytes are kept as they were."""

from __future__ import annotations

import io
import random
import re
from datetime import date, datetime
from typing import Any

import pytest

from passeur.connectors.base import Parcel, ParcelFile
from passeur.domain.documents import (
    AccountingStatus,
    Direction,
    Document,
    DocumentKind,
    Lifecycle,
)
from passeur.domain.errors import InvalidInput
from passeur.formats import efff_writer
from passeur.formats.corpus import make_company, make_invoice, make_invoice_pdf, make_ubl
from passeur.formats.efff_invoice import UNKNOWN_AMOUNTS
from passeur.formats.efff_writer import Client, efff_file, write_efff
from passeur.formats.intake import read_document
from passeur.formats.reading import Reading

from .samples import sample, sample_files
from .ubl_text import ubl_document

ME = Client("Client SRL", "BE0417497106", "0417497106")
UBL_SAMPLES = [s for s in sample_files() if s.startswith(("ubl/", "efff/"))]


def document_of(
    data: bytes,
    *,
    kind: DocumentKind = DocumentKind.PURCHASE_INVOICE,
    direction: Direction | None = None,
    filename: str = "invoice.xml",
) -> Document:
    """The document intake would store for `data` (its metadata included)."""
    reading = read_document(data)
    return Document(
        id=42,
        partner_id=1,
        client_id=1,
        kind=kind,
        direction=direction,
        filename=filename,
        media_type=reading.media_type,
        sha256="0" * 64,
        size=len(data),
        lifecycle=Lifecycle.APPROVED,
        accounting_status=AccountingStatus.QUEUED,
        received_at=datetime(2026, 2, 3, 10, 0),
        number=reading.number,
        issue_date=reading.issue_date,
        metadata={"type": reading.type, **reading.metadata},
    )


def spliced_in(original: bytes, made: bytes) -> bytes:
    """What was inserted, asserting that everything else is the original byte for byte."""
    common = next(
        (i for i, (a, b) in enumerate(zip(original, made, strict=False)) if a != b), len(original)
    )
    inserted = len(made) - len(original)
    assert made[:common] == original[:common]
    assert made[common + inserted :] == original[common:], "bytes outside the insertion changed"
    return made[common : common + inserted]


@pytest.mark.parametrize("relative", UBL_SAMPLES)
def test_every_ubl_sample_gets_its_pdf_and_intake_reads_the_result(relative: str) -> None:
    original = sample(relative)
    before = read_document(original)
    made = write_efff(document_of(original), original, None, ME)
    after = read_document(made.data)  # raises if intake would refuse it
    assert after.embedded_pdf is not None and after.embedded_pdf.startswith(b"%PDF-")
    assert made.made_from == "ubl + rendered pdf"  # no sample carries a real PDF
    assert b"AdditionalDocumentReference" in spliced_in(original, made.data)
    # What intake learns is what it learnt from the original, the PDF aside.
    assert (after.type, after.number, after.issue_date) == (
        before.type,
        before.number,
        before.issue_date,
    )
    assert after.metadata["totals"] == before.metadata["totals"]
    assert after.metadata["supplier"] == before.metadata["supplier"]
    assert [w for w in after.warnings if "PDF" not in w] == [
        w for w in before.warnings if "PDF" not in w
    ]
    assert made.name.endswith("_d42.xml") and made.media_type == "application/xml"


def corpus_invoice(credit: bool = False) -> Any:
    rng = random.Random(7)
    taken: set[str] = set()
    supplier, customer = make_company(rng, taken), make_company(rng, taken)
    return make_invoice(rng, "F-2026-17", supplier, customer, date(2026, 1, 31), credit_note=credit)


def test_a_ubl_that_carries_its_pdf_goes_out_byte_for_byte() -> None:
    invoice = corpus_invoice()
    original = make_ubl(invoice, make_invoice_pdf(invoice))
    made = write_efff(document_of(original), original, None, ME)
    assert (made.data, made.made_from) == (original, "ubl as is")


def test_the_documents_own_pdf_is_embedded_rather_than_a_rendered_one() -> None:
    invoice = corpus_invoice()
    pdf = make_invoice_pdf(invoice)
    original = make_ubl(invoice)
    made = write_efff(document_of(original), original, pdf, ME)
    assert made.made_from == "ubl + its pdf"
    assert read_document(made.data).embedded_pdf == pdf


def test_the_same_document_gives_the_same_bytes_every_time() -> None:
    original = sample("efff/odoo-efff_test.xml")
    first = write_efff(document_of(original), original, None, ME)
    assert write_efff(document_of(original), original, None, ME).data == first.data


def test_the_inserted_reference_uses_the_files_own_prefixes() -> None:
    original = (
        ubl_document()
        .replace(b"xmlns:cac=", b"xmlns:a=")
        .replace(b"xmlns:cbc=", b"xmlns:b=")
        .replace(b"cac:", b"a:")
        .replace(b"cbc:", b"b:")
    )
    made = write_efff(document_of(original), original, None, ME)
    inserted = spliced_in(original, made.data)
    assert re.search(rb"\n  <a:AdditionalDocumentReference>\s+<b:ID>INV-7</b:ID>", made.data)
    assert b"<b:EmbeddedDocumentBinaryObject" in inserted and b"cac:" not in made.data
    assert read_document(made.data).embedded_pdf is not None


def test_a_utf16_file_is_rewritten_and_still_read() -> None:
    original = ubl_document().replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    original = original.decode().encode("utf-16")
    made = write_efff(document_of(original), original, None, ME)
    after = read_document(made.data)
    assert after.embedded_pdf is not None and after.number == "INV-7"


def pdf_document(kind: DocumentKind, direction: Direction | None, **meta: Any) -> Document:
    pdf = make_invoice_pdf(corpus_invoice(credit=kind is DocumentKind.CREDIT_NOTE))
    document = document_of(pdf, kind=kind, direction=direction, filename="scan 17.pdf")
    return Document(**{**document.__dict__, "metadata": {**document.metadata, **meta}})


@pytest.mark.parametrize(
    ("kind", "direction", "root", "client_role"),
    [
        (DocumentKind.PURCHASE_INVOICE, Direction.PURCHASE, "Invoice", "customer"),
        (DocumentKind.SALES_INVOICE, Direction.SALES, "Invoice", "supplier"),
        (DocumentKind.CREDIT_NOTE, Direction.PURCHASE, "CreditNote", "customer"),
        (DocumentKind.PURCHASE_RECEIPT, Direction.PURCHASE, "Invoice", "customer"),
    ],
)
def test_a_pdf_becomes_an_invoice_around_it(
    kind: DocumentKind, direction: Direction, root: str, client_role: str
) -> None:
    document = pdf_document(kind, direction)
    pdf = make_invoice_pdf(corpus_invoice(credit=kind is DocumentKind.CREDIT_NOTE))
    made = write_efff(document, pdf, None, ME)
    after = read_document(made.data)
    assert made.made_from == "pdf" and after.embedded_pdf == pdf
    assert f"<{root} ".encode() in made.data
    assert (after.number, after.issue_date) == ("d42", "2026-02-03")  # none known: its own
    assert after.metadata["totals"]["payable"] == "0.00"
    assert UNKNOWN_AMOUNTS.encode() in made.data
    me = after.metadata[client_role]
    assert (me["name"], me["vat"], me["enterprise_number"]) == (
        "Client SRL",
        "BE0417497106",
        "0417497106",
    )
    assert made.name == "2026-02-03_d42.xml"


def test_a_pdf_with_extracted_facts_carries_them() -> None:
    document = pdf_document(
        DocumentKind.PURCHASE_INVOICE,
        Direction.PURCHASE,
        currency="EUR",
        due_date="2026-03-02",
        totals={"tax_exclusive": "100.00", "tax": "21.00", "payable": "121.00"},
        supplier={"name": "Demo Shop NV", "vat": "BE0123456749", "enterprise_number": None},
        payment={"reference": "+++090/9337/55493+++"},
    )
    document = Document(**{**document.__dict__, "number": "F-17", "issue_date": "2026-01-31"})
    made = write_efff(document, b"%PDF" + make_invoice_pdf(corpus_invoice())[4:], None, ME)
    after: Reading = read_document(made.data)
    assert (after.number, after.issue_date, after.metadata["due_date"]) == (
        "F-17",
        "2026-01-31",
        "2026-03-02",
    )
    assert after.metadata["totals"] == {
        "line_extension": "100.00",
        "tax_exclusive": "100.00",
        "tax_inclusive": "121.00",
        "payable": "121.00",
        "tax": "21.00",
    }
    assert after.metadata["supplier"]["vat"] == "BE0123456749"
    assert after.metadata["payment"]["reference"] == "+++090/9337/55493+++"
    assert UNKNOWN_AMOUNTS.encode() not in made.data
    assert not [w for w in after.warnings if "total" in w]


@pytest.mark.parametrize(
    "relative", ["coda/pycoda-Coda_v2_3_globalisation.txt", "camt/oca-test-camt053.xml"]
)
def test_a_statement_has_no_efff_form(relative: str) -> None:
    data = sample(relative)
    document = document_of(data, kind=DocumentKind.ENRICHED_MOVEMENT_REPORT)
    with pytest.raises(InvalidInput, match="e-fff carries invoices, credit notes and receipts"):
        write_efff(document, data, None, ME)


def test_a_file_intake_would_refuse_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    original = sample("ubl/peppol-base-example.xml")
    monkeypatch.setattr(
        efff_writer, "embed_pdf", lambda ubl, pdf, **_: ubl.replace(b"</Invoice>", b"")
    )
    with pytest.raises(InvalidInput, match="would be refused by intake: the XML is malformed"):
        write_efff(document_of(original), original, None, ME)


def test_connectors_get_the_file_from_a_parcel() -> None:
    original = sample("efff/odoo-efff_test.xml")
    document = document_of(original)
    parcel = Parcel(
        export_id=1,
        export_key="psr-d42-i1-v1",
        document=document,
        client_name="Client SRL",
        variables={"vat_number": "BE0417497106", "uen_number": "0417497106"},
        files=(
            ParcelFile(
                "original",
                "x.xml",
                "application/xml",
                len(original),
                "",
                lambda: io.BytesIO(original),
            ),
        ),
    )
    made = efff_file(parcel)
    assert made.data == write_efff(document, original, None, ME).data
