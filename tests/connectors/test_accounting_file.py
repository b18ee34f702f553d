"""What accounting packages receive (connectors/accounting_file.py): e-fff for a document
that came as UBL, the PDF for one that came as a PDF, and the booking declarations."""

from __future__ import annotations

from pathlib import Path

from passeur.connectors import registry
from passeur.connectors.accounting_file import accounting_file
from passeur.domain.documents import DocumentKind
from passeur.formats.intake import read_document
from tests.connectors.parcels import make_parcel

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


async def test_a_ubl_goes_out_as_e_fff_with_its_pdf_that_intake_reads(
    tmp_path: Path, shared_data: Path
) -> None:
    sample = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    parcel = make_parcel(tmp_path, sample, number="Snippet1")
    chosen = await accounting_file(parcel)
    with chosen.open() as handle:
        data = handle.read()
    reading = read_document(data)
    assert reading.number == "Snippet1" and reading.embedded_pdf is not None
    assert reading.embedded_pdf.startswith(b"%PDF")
    assert (chosen.name, chosen.size, chosen.media_type) == (
        parcel.main.name,
        len(data),
        "application/xml",
    )
    again = await accounting_file(parcel)
    with again.open() as handle:
        assert handle.read() == data, "every try sends the same bytes"


async def test_a_pdf_goes_out_alone_and_an_other_document_as_it_came(tmp_path: Path) -> None:
    pdf = make_parcel(tmp_path / "p", PDF, media_type="application/pdf")
    assert await accounting_file(pdf) is pdf.main
    other = make_parcel(tmp_path / "o", b"<x/>", kind=DocumentKind.OTHER)
    assert await accounting_file(other) is other.main


def test_the_packages_that_book_entries_say_so() -> None:
    booking = {slug for slug, ext in registry.extensions().items() if ext.books_entries}
    assert booking == {"exact_online", "yuki"}  # Octopus files into a viewer a person works
