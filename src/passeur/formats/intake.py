"""What intake learns from a file's content: its type, kind and metadata.

The type is detected from the content, never from the file name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from passeur.domain.documents import Direction, DocumentKind
from passeur.domain.errors import InvalidInput

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


@dataclass(frozen=True)
class Reading:
    type: str  # pdf, ubl, coda
    media_type: str
    kind: DocumentKind | None = None  # when the content says it (a credit note, a statement)
    direction: Direction | None = None
    number: str = ""
    issue_date: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    embedded_pdf: bytes | None = None


def read_document(data: bytes, filename: str = "") -> Reading:
    """Detect and read a document; raise InvalidInput (storing nothing) when refused."""
    if data.startswith(b"%PDF-"):
        return Reading(type="pdf", media_type="application/pdf")
    head = data.lstrip()[:1]
    if head == b"<":
        return _read_xml(data)
    if data[:5] == b"00000":
        return _read_coda(data)
    raise InvalidInput(f"{filename or 'the file'}: not a PDF, UBL invoice or CODA statement")


def _read_xml(data: bytes) -> Reading:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"the XML is malformed: {exc}") from None
    namespace = etree.QName(root).namespace
    if namespace not in (UBL_INVOICE, UBL_CREDIT_NOTE):
        raise InvalidInput(f"unsupported XML document <{etree.QName(root).localname}>")
    number = root.findtext(f"{{{CBC}}}ID") or ""
    issue_date = root.findtext(f"{{{CBC}}}IssueDate") or ""
    credit = namespace == UBL_CREDIT_NOTE or root.findtext(f"{{{CBC}}}InvoiceTypeCode") == "381"
    return Reading(
        type="ubl",
        media_type="application/xml",
        kind=DocumentKind.CREDIT_NOTE if credit else None,
        number=number.strip(),
        issue_date=issue_date.strip(),
    )


def _read_coda(data: bytes) -> Reading:
    lines = data.decode("latin-1").splitlines()
    if not lines or len(lines[0]) != 128:
        raise InvalidInput("the CODA file's header record is not 128 characters long")
    header = lines[0]
    created = header[5:11]
    issue_date = f"20{created[4:6]}-{created[2:4]}-{created[0:2]}" if created.isdigit() else ""
    number = next((line[2:5] for line in lines if line.startswith("1")), "")
    return Reading(
        type="coda",
        media_type="text/x-coda",
        kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
        number=number,
        issue_date=issue_date,
    )
