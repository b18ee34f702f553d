"""Detection from content, never from the name, and refusals that say what was found."""

from __future__ import annotations

import pytest

from passeur.domain.errors import InvalidInput
from passeur.formats.corpus import make_padded_pdf
from passeur.formats.intake import DEFAULT_MAX_BYTES, read_document

from .samples import sample

CODA = "coda/odoo-Ontvangen_CODA.2011-01-11-18.59.15.txt"
EXPECTED = "expected a PDF, a UBL 2.1 / Peppol BIS 3 invoice or credit note, an e-fff invoice"


def refused(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_document(data, max_bytes=max_bytes)
    return str(caught.value)


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (sample(CODA), "invoice.pdf", "coda"),
        (make_padded_pdf(2000), "statement.cod", "pdf"),
        (sample("ubl/peppol-base-example.xml"), "scan.jpg", "ubl"),
        (sample("camt/oca-test-camt053.xml"), "", "camt"),
    ],
)
def test_the_file_name_does_not_matter(data: bytes, filename: str, expected: str) -> None:
    assert read_document(data, filename).type == expected


def test_xml_mentioning_the_pdf_signature_is_still_xml() -> None:
    data = sample("ubl/peppol-base-example.xml").replace(b"<cbc:ID>Snippet1", b"<cbc:ID>%PDF-1", 1)
    assert read_document(data).number == "%PDF-1"


def test_twenty_megabyte_pdf_for_benchmarks_passes_intake() -> None:
    data = make_padded_pdf(20_000_000)
    assert abs(len(data) - 20_000_000) < 2048
    assert read_document(data).metadata["pages"] == 1


def test_empty_file() -> None:
    assert refused(b"") == "the file is empty"


def test_size_limit_is_a_parameter() -> None:
    message = refused(sample(CODA), max_bytes=1000)
    assert message == "the file is 3096 bytes, over the 1000 bytes limit for one document"


def test_default_size_limit_is_50_mb() -> None:
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    message = refused(b"%PDF-" + b"\0" * DEFAULT_MAX_BYTES)
    assert message == "the file is 50.0 MB, over the 50.0 MB limit for one document"


def test_refusal_names_the_file() -> None:
    with pytest.raises(InvalidInput, match=r"^notes\.txt: the file is text starting with 'hello'"):
        read_document(b"hello\nworld", "notes.txt")


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "a PNG image"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 50, "a JPEG image"),
        (b"PK\x03\x04" + b"\0" * 50, "a ZIP archive (or an Office document)"),
        (bytes(range(256)), "binary data"),
        (b"Date;Amount\n2025-01-01;12.00\n", "text starting with 'Date;Amount'"),
        (b"0000 not a coda\n", "text starting with"),
    ],
)
def test_unknown_content_says_what_it_is(data: bytes, found: str) -> None:
    message = refused(data)
    assert message.startswith(f"the file is {found}")
    assert EXPECTED in message


def test_coda_header_with_wrong_length_is_explained() -> None:
    message = refused(b"00000" + b" " * 60 + b"2\n")
    assert "CODA line 1 is 66 characters long; every CODA record is exactly 128" in message


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (b"<html><body/></html>", "the XML document <html> (no namespace) is not one we accept"),
        (b"<Invoice><ID>1</ID></Invoice>", "the <Invoice> element is not in the UBL 2 namespace"),
        (
            b'<rsm:CrossIndustryInvoice xmlns:rsm="'
            b'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>',
            "UN/CEFACT Cross Industry Invoice",
        ),
    ],
)
def test_unsupported_xml_is_named(xml: bytes, words: str) -> None:
    assert words in refused(xml)
