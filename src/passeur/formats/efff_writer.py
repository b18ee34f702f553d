"""e-fff output: the file an accounting package imports for one document, the invoice's
UBL with its PDF embedded (docs/decisions.md, "e-fff output").

`efff_file(parcel)` is the one entry point for connectors. A UBL that carries a real PDF
goes out as it came, byte for byte; one without gets the PDF added (its own companion
PDF, else one rendered from its data) and nothing else changed; a PDF becomes a Peppol
BIS 3 invoice around it, from what is known of it. Every file made is read back by the
parser intake uses, and one intake would refuse is never returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from passeur.domain import paths
from passeur.domain.documents import Direction, Document, Family
from passeur.domain.errors import InvalidInput
from passeur.formats.efff_invoice import Facts, invoice_from_pdf
from passeur.formats.intake import read_document
from passeur.formats.invoice_rendering import Line, render_invoice
from passeur.formats.pdf_embedding import embed_pdf
from passeur.formats.ubl_names import find, findall, text
from passeur.formats.xml import parse_xml

MEDIA_TYPE = "application/xml"
INVOICE_FAMILIES = (Family.PURCHASES, Family.SALES)


@dataclass(frozen=True)
class EfffFile:
    name: str  # e.g. 2026-01-31_INV-7_d42.xml: the document's file name at every target
    data: bytes
    media_type: str
    made_from: str  # "ubl as is", "ubl + its pdf", "ubl + rendered pdf", "pdf"


class _File(Protocol):
    @property
    def role(self) -> str: ...
    def open(self) -> IO[bytes]: ...


class ParcelLike(Protocol):
    """What `efff_file` reads of a connector's Parcel (connectors.base.Parcel)."""

    @property
    def document(self) -> Document: ...
    @property
    def client_name(self) -> str: ...
    @property
    def variables(self) -> dict[str, str]: ...
    @property
    def files(self) -> Sequence[_File]: ...


@dataclass(frozen=True)
class Client:
    """The client whose document it is: a party of a PDF invoice (customer of a purchase,
    supplier of a sale)."""

    name: str
    vat: str = ""
    enterprise_number: str = ""


def efff_file(parcel: ParcelLike) -> EfffFile:
    """The e-fff file to send for this parcel's document (reads its stored files; may
    render a PDF, so call it in a thread from async code). Raises InvalidInput for a
    document that has no e-fff form (a statement, an "other" document)."""
    stored = {}
    for f in parcel.files:
        with f.open() as handle:
            stored[f.role] = handle.read()
    client = Client(
        parcel.client_name,
        parcel.variables.get("vat_number", ""),
        parcel.variables.get("uen_number", ""),
    )
    return write_efff(parcel.document, stored["original"], stored.get("pdf"), client)


def write_efff(document: Document, original: bytes, pdf: bytes | None, client: Client) -> EfffFile:
    """The e-fff file of a document from its stored files (the pure part of efff_file)."""
    if document.family not in INVOICE_FAMILIES:
        raise InvalidInput(
            f"document {document.id} is {document.kind.value.replace('_', ' ')}: e-fff carries "
            "invoices, credit notes and receipts only"
        )
    name = _file_name(document)
    if document.media_type == "application/pdf":
        data = invoice_from_pdf(_facts(document, client), original, document.filename)
        made_from = "pdf"
    else:
        data, made_from = _from_ubl(document, original, pdf)
    _check(document, data)
    return EfffFile(name=name, data=data, media_type=MEDIA_TYPE, made_from=made_from)


def _from_ubl(document: Document, original: bytes, pdf: bytes | None) -> tuple[bytes, str]:
    reading = read_document(original)
    if reading.embedded_pdf is not None:
        return original, "ubl as is"
    made_from = "ubl + its pdf"
    if pdf is None:
        pdf = render_invoice(reading.metadata, _lines(original))
        made_from = "ubl + rendered pdf"
    reference = reading.number or f"d{document.id}"
    data = embed_pdf(original, pdf, reference_id=reference, filename=f"{reference}.pdf")
    return data, made_from


def _lines(ubl: bytes) -> list[Line]:
    root = parse_xml(ubl)
    found = findall(root, "cac:InvoiceLine") + findall(root, "cac:CreditNoteLine")
    lines = []
    for line in found:
        quantity = find(line, "cbc:InvoicedQuantity")
        if quantity is None:
            quantity = find(line, "cbc:CreditedQuantity")
        lines.append(
            Line(
                description=text(line, "cac:Item/cbc:Name") or text(line, "cbc:ID"),
                quantity=text(quantity),
                amount=text(line, "cbc:LineExtensionAmount"),
            )
        )
    return lines


def _facts(document: Document, client: Client) -> Facts:
    """What is known of a PDF invoice: intake's metadata (and any extracted later), the
    document's number and date, and the client on its side of the invoice."""
    meta: dict[str, Any] = document.metadata
    mine = {
        "name": client.name,
        "vat": client.vat or None,
        "enterprise_number": client.enterprise_number or None,
    }
    supplier = dict(meta.get("supplier") or {})
    customer = dict(meta.get("customer") or {})
    if document.family is Family.SALES or document.direction is Direction.SALES:
        supplier = {**mine, **{k: v for k, v in supplier.items() if v}}
    else:
        customer = {**mine, **{k: v for k, v in customer.items() if v}}
    payment = meta.get("payment") or {}
    references = meta.get("billing_references") or []
    return Facts(
        number=document.number or f"d{document.id}",
        issue_date=document.issue_date or f"{document.received_at:%Y-%m-%d}",
        credit_note=document.kind.value == "credit_note",
        due_date=meta.get("due_date"),
        currency=meta.get("currency") or "EUR",
        supplier=supplier,
        customer=customer,
        totals=dict(meta.get("totals") or {}),
        billing_reference=references[0] if references else None,
        payment_reference=payment.get("reference"),
    )


def _check(document: Document, data: bytes) -> None:
    """Read the file back as intake would; refuse to hand out one it would refuse."""
    try:
        reading = read_document(data)
    except InvalidInput as exc:
        raise InvalidInput(
            f"the e-fff file made for document {document.id} would be refused by intake: {exc}"
        ) from None
    if reading.embedded_pdf is None:
        raise InvalidInput(f"the e-fff file made for document {document.id} carries no PDF")


def _file_name(document: Document) -> str:
    released = document.released_at or document.received_at
    date = document.issue_date or f"{released:%Y-%m-%d}"
    return paths.file_name(date, document.number, document.id, "xml")
