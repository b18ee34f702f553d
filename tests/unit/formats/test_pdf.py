"""PDF intake: a signature is not enough, pypdf must open it."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from passeur.domain.errors import InvalidInput
from passeur.formats.corpus import make_padded_pdf
from passeur.formats.intake import read_document
from passeur.formats.pdf import is_pdf, pdf_info

GOOD = make_padded_pdf(4000, seed=3)


def encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(GOOD))
    writer.encrypt(user_password=user_password, owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_is_read() -> None:
    reading = read_document(GOOD)
    assert (reading.type, reading.media_type, reading.kind) == ("pdf", "application/pdf", None)
    assert reading.metadata == {"pages": 1, "pdf_version": "1.4", "encrypted": False}
    assert reading.warnings == []


def test_two_page_pdf_counts_its_pages() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    assert read_document(out.getvalue()).metadata["pages"] == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (GOOD[: len(GOOD) // 2], "starts like a PDF but cannot be read"),
        (b"%PDF-1.7\n" + b"garbage " * 50, "starts like a PDF but cannot be read"),
    ],
)
def test_broken_pdf_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        read_document(data)


def test_pdf_without_pages_is_refused() -> None:
    out = io.BytesIO()
    PdfWriter().write(out)
    with pytest.raises(InvalidInput, match="the PDF has no pages"):
        read_document(out.getvalue())


def test_password_protected_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput, match="password-protected"):
        read_document(encrypted("secret"))


def test_pdf_encrypted_without_password_is_accepted_with_a_warning() -> None:
    reading = read_document(encrypted(""))
    assert reading.metadata["encrypted"] is True
    assert reading.warnings == ["the PDF is encrypted (it opens without a password)"]


def test_signature_may_follow_a_few_bytes_of_junk() -> None:
    assert is_pdf(b"\x00\x01junk" + GOOD)
    assert pdf_info(b"\x00\x01junk" + GOOD).pages == 1
    assert not is_pdf(b"x" * 2000 + GOOD)


def test_padded_pdfs_have_the_size_asked_for() -> None:
    for size in (30_000, 2_000_000):
        data = make_padded_pdf(size)
        assert abs(len(data) - size) < 2048
        assert len(PdfReader(io.BytesIO(data)).pages) == 1


def a_pdf_pypdf_repairs() -> bytes:
    """A PDF whose startxref points nowhere: pypdf reads it after a repair it warns about."""
    data = make_padded_pdf(2000)
    return data[: data.rfind(b"startxref")] + b"startxref\n12\n%%EOF\n"


def test_pypdf_s_own_warnings_do_not_reach_the_terminal(tmp_path: Path) -> None:
    repaired = tmp_path / "repaired.pdf"
    repaired.write_bytes(a_pdf_pypdf_repairs())
    script = (
        "import sys; from pathlib import Path; from passeur.formats.intake import read_document;"
        "print(read_document(Path(sys.argv[1]).read_bytes()).metadata['pages'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(repaired)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "1\n", "")


def test_pypdf_s_warnings_go_to_passeur_s_log_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert pdf_info(a_pdf_pypdf_repairs()).pages == 1
    # (pytest hands its capture to pypdf's own logger too: the terminal test above is the
    # one that shows nothing leaks)
    assert any(
        r.name == "passeur.formats.pdf" and r.levelno == logging.DEBUG and "startxref" in r.message
        for r in caplog.records
    )
