"""A purchase or sales entry in Exact Online for a document that carries what one needs
(targets.md §1.5): a UBL that names the supplier (of a purchase) or the customer (of a
sale) by VAT number, and its VAT breakdown. One line per VAT rate, on the installation's
GL account for the family, with the company's VAT code for that rate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from passeur.connectors.accounting_file import XML_TYPES
from passeur.connectors.base import Parcel
from passeur.domain.documents import DocumentKind, Family
from passeur.formats.ubl_vat import VatPart, vat_breakdown


@dataclass(frozen=True)
class Kind:
    endpoint: str
    party: str  # the entry's account field
    lines: str
    types: tuple[int, int]  # invoice, credit note
    journal_field: str
    gl_field: str
    vat_types: frozenset[str]  # VATTransactionType values that fit


KINDS = {
    Family.PURCHASES: Kind(
        "purchaseentry/PurchaseEntries", "Supplier", "PurchaseEntryLines", (30, 31),
        "purchase_journal", "purchase_gl_account", frozenset({"P", "B"}),
    ),
    Family.SALES: Kind(
        "salesentry/SalesEntries", "Customer", "SalesEntryLines", (20, 21),
        "sales_journal", "sales_gl_account", frozenset({"S", "B"}),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class EntryPlan:
    kind: Kind
    vat_number: str
    name: str
    parts: list[VatPart]
    date: str
    due_date: str | None
    currency: str
    your_ref: str
    credit: bool


def plan(parcel: Parcel) -> EntryPlan | None:
    """What the entry would book, or None when the document does not carry it (it then
    goes as a document to book by hand). Reads the stored UBL: call it in a thread."""
    document = parcel.document
    kind = KINDS.get(document.family)
    if kind is None or parcel.main.media_type not in XML_TYPES or not document.issue_date:
        return None
    meta: dict[str, Any] = document.metadata
    party = meta.get("supplier" if document.family is Family.PURCHASES else "customer") or {}
    if not party.get("vat"):
        return None
    with parcel.main.open() as handle:
        parts = vat_breakdown(handle.read())
    if not parts:
        return None
    credit = document.kind is DocumentKind.CREDIT_NOTE or meta.get("document_type") == "credit_note"
    return EntryPlan(
        kind=kind,
        vat_number=str(party["vat"]),
        name=str(party.get("name") or party["vat"])[:50],
        parts=parts,
        date=document.issue_date,
        due_date=meta.get("due_date"),
        currency=str(meta.get("currency") or "EUR"),
        your_ref=(document.number or "")[:30],
        credit=credit,
    )


def vat_code(codes: list[dict[str, Any]], kind: Kind, rate: Decimal) -> str | None:
    """The company's VAT code for this rate and side (purchase or sales), if it has one."""
    for row in codes:
        if str(row.get("VATTransactionType", "B")) not in kind.vat_types:
            continue
        try:
            percent = Decimal(str(row.get("Percentage"))) * 100
        except ArithmeticError:
            continue
        if percent == rate:
            return str(row["Code"])
    return None
