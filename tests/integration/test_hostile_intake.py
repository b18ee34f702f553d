"""A corpus of hostile files through intake: each refused with its reason, nothing stored.

XML bombs, external entities, a DOCTYPE, deep nesting, a PDF that lies about its pages, a
compressed stream that would expand without end, empty and oversized files, files whose
name says something their content is not, invalid text in a CODA statement.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.partners import ClientStatus
from passeur.formats.corpus import make_padded_pdf
from passeur.services import clients, intake, partners
from tests.integration.test_access import snapshot

UBL = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'


def billion_laughs() -> bytes:
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE Invoice [{entities}]>'.encode() + UBL + b"&l9;</Invoice>"
    )


def external_entity(tmp_path: Path) -> bytes:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file://{secret}">]>'
    return f'<?xml version="1.0"?>{doctype}'.encode() + UBL + b"<ID>&x;</ID></Invoice>"


def pdf_with_pages(count: int) -> bytes:
    """A PDF whose page tree claims `count` pages and holds none."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count %d >>" % count,
    ]
    return _pdf(objects)


def pdf_with_a_bomb() -> bytes:
    """A page whose content stream expands 1,000-fold (a zip bomb's shape)."""
    stream = zlib.compress(b"0" * 20_000_000, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def coda_with_bad_text(shared_data: Path) -> bytes:
    data = (shared_data / "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt").read_bytes()
    lines = data.split(b"\n")
    lines[1] = lines[1][:40] + b"\xff\xfe\x00\x1b[31m" + lines[1][48:]
    return b"\n".join(lines)


@pytest.fixture
def client_of(app: App) -> tuple[int, int]:
    partner = partners.create_partner(app, "Firm")
    client = clients.create_client(
        app, partner.id, "Client", uen_number="0403170701", status=ClientStatus.ACTIVE
    )
    return partner.id, client.id


def hostile(tmp_path: Path, shared_data: Path) -> dict[str, tuple[str, bytes, str]]:
    """name: (file name, content, what the refusal says)."""
    deep = b"<a>" * 300 + b"</a>" * 300
    return {
        "billion laughs": ("bomb.xml", billion_laughs(), "DOCTYPE"),
        "external entity": ("xxe.xml", external_entity(tmp_path), "DOCTYPE"),
        "a DOCTYPE": ("doctype.xml", b'<?xml version="1.0"?><!DOCTYPE x>' + UBL, "DOCTYPE"),
        "deep nesting": ("deep.xml", b'<?xml version="1.0"?>' + deep, "deep"),
        "empty": ("empty.pdf", b"", "empty"),
        "a ZIP named .pdf": ("invoice.pdf", b"PK\x03\x04" + b"\0" * 100, "ZIP"),
        "a PNG named .xml": ("invoice.xml", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "PNG"),
        "HTML named .pdf": ("invoice.pdf", b"<html><body>pay here</body></html>", ""),
        "a PDF without pages": ("pages.pdf", pdf_with_pages(0), "no pages"),
        "a PDF lying about its pages": ("lies.pdf", pdf_with_pages(2_000_000_000), ""),
        "a CODA with binary text": ("bad.cod", coda_with_bad_text(shared_data), ""),
    }


CASES = [
    "billion laughs", "external entity", "a DOCTYPE", "deep nesting", "empty",
    "a ZIP named .pdf", "a PNG named .xml", "HTML named .pdf", "a PDF without pages",
    "a PDF lying about its pages", "a CODA with binary text",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_file_is_refused_with_its_reason_and_nothing_is_stored(
    app: App, client_of: tuple[int, int], tmp_path: Path, shared_data: Path, case: str
) -> None:
    partner_id, client_id = client_of
    name, data, reason = hostile(tmp_path, shared_data)[case]
    before = snapshot(app)
    with pytest.raises(InvalidInput) as refused:
        intake.upload(app, partner_id, client_id, name, data, kind=DocumentKind.OTHER)
    message = str(refused.value)
    assert reason.lower() in message.lower() and len(message) < 400
    assert "TOP-SECRET" not in message
    assert snapshot(app) == before


def test_an_oversized_file_is_refused_before_it_is_read(
    app: App, client_of: tuple[int, int]
) -> None:
    partner_id, client_id = client_of
    before = snapshot(app)
    with pytest.raises(InvalidInput, match="larger than"):
        intake.upload(app, partner_id, client_id, "big.pdf", b"%PDF-1.7" + bytes(intake.MAX_SIZE))
    assert snapshot(app) == before


def test_a_compressed_page_that_expands_is_stored_without_being_expanded(
    app: App, client_of: tuple[int, int]
) -> None:
    """Intake counts pages and never decompresses content streams: a small PDF whose page
    would expand to 20 MB is read as a one-page PDF, in bounded memory."""
    partner_id, client_id = client_of
    doc = intake.upload(
        app, partner_id, client_id, "bomb.pdf", pdf_with_a_bomb(), kind=DocumentKind.OTHER
    )
    assert doc.metadata["pages"] == 1 and doc.size < 100_000


def test_the_name_never_decides_the_type(app: App, client_of: tuple[int, int]) -> None:
    """A real PDF named .xml is stored as the PDF it is."""
    partner_id, client_id = client_of
    doc = intake.upload(
        app, partner_id, client_id, "invoice.xml", make_padded_pdf(3000), kind=DocumentKind.OTHER
    )
    assert doc.media_type == "application/pdf"
