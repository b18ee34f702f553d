"""PDF files: recognised by their signature, accepted only if pypdf can open them."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader

from passeur.domain.errors import InvalidInput
from passeur.formats.reading import Reading

MEDIA_TYPE = "application/pdf"
# The PDF spec lets the header sit anywhere in the first 1024 bytes (some producers
# prepend junk); it must be there.
_HEADER_WINDOW = 1024
_log = logging.getLogger(__name__)


class _ToDebug(logging.Handler):
    """pypdf logs a warning for every repair it makes to a sloppy file ("incorrect
    startxref pointer"). The verdict on the file is ours (read or refused, with its
    reason), so those lines go to passeur's log at debug instead of the terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        _log.debug("pypdf: %s", record.getMessage())


def _quiet_pypdf() -> None:
    pypdf_log = logging.getLogger("pypdf")
    if not any(isinstance(h, _ToDebug) for h in pypdf_log.handlers):
        pypdf_log.addHandler(_ToDebug())
        pypdf_log.propagate = False


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    version: str  # "1.7" as written in the header
    encrypted: bool


def is_pdf(data: bytes) -> bool:
    """The `%PDF-` signature near the start; says nothing about whether the file is sound."""
    return b"%PDF-" in data[:_HEADER_WINDOW]


def pdf_info(data: bytes) -> PdfInfo:
    """Open the PDF with pypdf and count its pages; raise InvalidInput if it cannot be read."""
    if not is_pdf(data):
        raise InvalidInput("the file does not start with the PDF signature '%PDF-'")
    start = data.find(b"%PDF-")
    version = data[start + 5 : start + 8].decode("ascii", errors="replace")
    _quiet_pypdf()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            raise InvalidInput("the PDF is password-protected; accounting software cannot read it")
        pages = len(reader.pages)
    except InvalidInput:
        raise
    except Exception as exc:  # pypdf raises many types on broken input; all mean "unreadable"
        raise InvalidInput(
            f"the file starts like a PDF but cannot be read as one ({type(exc).__name__}: "
            f"{_short(str(exc))})"
        ) from None
    if pages == 0:
        raise InvalidInput("the PDF has no pages")
    return PdfInfo(pages=pages, version=version, encrypted=encrypted)


def read_pdf(data: bytes) -> Reading:
    info = pdf_info(data)
    warnings = []
    if info.encrypted:
        warnings.append("the PDF is encrypted (it opens without a password)")
    return Reading(
        type="pdf",
        media_type=MEDIA_TYPE,
        metadata={"pages": info.pages, "pdf_version": info.version, "encrypted": info.encrypted},
        warnings=warnings,
    )


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
