"""Intake: recognise a document from its content (never its file name) and read it.

`read_document` either returns a Reading or raises InvalidInput with a sentence a person can
act on: what was found and what is accepted. Nothing is stored by this module.
"""

from __future__ import annotations

from lxml import etree

from passeur.domain.errors import InvalidInput
from passeur.formats.camt import is_camt053, is_iso20022, read_camt
from passeur.formats.coda import looks_like_coda, read_coda
from passeur.formats.pdf import is_pdf, read_pdf
from passeur.formats.reading import Reading
from passeur.formats.ubl import is_ubl, read_ubl
from passeur.formats.xml import local_name, looks_like_xml, namespace, parse_xml

__all__ = ["DEFAULT_MAX_BYTES", "Reading", "read_document"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
ACCEPTED = (
    "a PDF, a UBL 2.1 / Peppol BIS 3 invoice or credit note, an e-fff invoice, "
    "a CODA statement or a CAMT.053 statement"
)
VEFA_TEST_SET = "http://difi.no/xsd/vefa/validator/1.0"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
)


def read_document(
    data: bytes, filename: str = "", *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Reading:
    """Detect and read a document; raise InvalidInput (naming `filename`) when refused."""
    try:
        return _read(data, max_bytes)
    except InvalidInput as exc:
        if filename:
            raise InvalidInput(f"{filename}: {exc}") from None
        raise


def _read(data: bytes, max_bytes: int) -> Reading:
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the file is {_size(len(data))}, over the {_size(max_bytes)} limit for one document"
        )
    # The usual start of each format first; a PDF may carry junk before its signature, so
    # that lenient look comes last and cannot claim an XML or CODA file.
    if data.startswith(b"%PDF-"):
        return read_pdf(data)
    if looks_like_coda(data):
        return read_coda(data)
    if looks_like_xml(data):
        return _read_xml(data)
    if is_pdf(data):
        return read_pdf(data)
    raise InvalidInput(
        f"the file is {_describe(data)}, not a document we accept; expected {ACCEPTED}"
    )


def _read_xml(data: bytes) -> Reading:
    root = parse_xml(data)
    if is_ubl(root):
        return read_ubl(root)
    if is_camt053(root):
        return read_camt(root)
    raise InvalidInput(_unsupported_xml(root))


def _unsupported_xml(root: etree._Element) -> str:
    name, ns = local_name(root), namespace(root)
    if ns == VEFA_TEST_SET and name == "testSet":
        scope = (root.findtext(f"{{{ns}}}assert/{{{ns}}}scope") or "").strip()
        fragments = sum(1 for el in root.iter() if local_name(el) in ("Invoice", "CreditNote"))
        rule = f", rule {scope}" if scope else ""
        return (
            f"this is an OpenPeppol validation test set (<testSet>{rule}) holding {fragments} "
            "invoice fragments that a validator must accept or refuse; it is not an invoice. "
            f"Expected {ACCEPTED}"
        )
    if ns == CII:
        return (
            "this is a UN/CEFACT Cross Industry Invoice (the XML of Factur-X / ZUGFeRD), which is "
            f"not supported; expected {ACCEPTED}"
        )
    if is_iso20022(root):
        message = ns.rsplit(":", 1)[-1]
        return f"this is an ISO 20022 {message} message, not a camt.053 bank statement"
    if name in ("Invoice", "CreditNote"):
        return (
            f"the <{name}> element is not in the UBL 2 namespace "
            f"(found {ns or 'no namespace'}); expected {ACCEPTED}"
        )
    where = ns or "no namespace"
    return f"the XML document <{name}> ({where}) is not one we accept; expected {ACCEPTED}"


def _describe(data: bytes) -> str:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    head = data[:200]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if printable < 0.9 * len(text):
        return "binary data"
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return f"text starting with {first_line[:40]!r}"


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"
