"""UBL 2.x Invoice and CreditNote (Peppol BIS 3, older UBL, e-fff): checks and metadata."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lxml import etree

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.amounts import format_amount, parse_amount
from passeur.formats.attachments import read_attachments
from passeur.formats.dates import iso_date
from passeur.formats.efff import efff_warnings, is_efff
from passeur.formats.parties import read_party
from passeur.formats.reading import Reading
from passeur.formats.ubl_names import CAC, CREDIT_NOTE_NS, INVOICE_NS, find, findall, text
from passeur.formats.ubl_totals import check_totals
from passeur.formats.xml import local_name, namespace

MEDIA_TYPE = "application/xml"
ROOTS = {INVOICE_NS: "Invoice", CREDIT_NOTE_NS: "CreditNote"}
# UNTDID 1001 codes Peppol BIS 3 lists for credit notes.
CREDIT_NOTE_CODES = {"81", "83", "381", "396", "532"}
TOTALS = {
    "line_extension": "cbc:LineExtensionAmount",
    "tax_exclusive": "cbc:TaxExclusiveAmount",
    "tax_inclusive": "cbc:TaxInclusiveAmount",
    "payable": "cbc:PayableAmount",
}


def is_ubl(root: etree._Element) -> bool:
    return namespace(root) in ROOTS


def read_ubl(root: etree._Element) -> Reading:
    """Read an Invoice or CreditNote root; raise InvalidInput when it breaks the schema rules
    we depend on (a required element missing, text where only elements may be)."""
    credit_root = _check_root(root)
    label = "credit note" if credit_root else "invoice"
    _check_element_only(root)
    number = _required(root, "cbc:ID", label, "its number")
    issue_date = iso_date(_required(root, "cbc:IssueDate", label, "its issue date"), "IssueDate")
    for role in ("Supplier", "Customer"):
        if find(root, f"cac:Accounting{role}Party/cac:Party") is None:
            raise InvalidInput(f"the {label} has no cac:Accounting{role}Party, which UBL requires")
    if find(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") is None:
        raise InvalidInput(f"the {label} has no LegalMonetaryTotal/PayableAmount (amount due)")

    warnings: list[str] = []
    type_code = text(root, "cbc:CreditNoteTypeCode" if credit_root else "cbc:InvoiceTypeCode")
    credit = credit_root or type_code in CREDIT_NOTE_CODES
    currency = _currency(root, warnings)
    attachments = read_attachments(root, warnings)
    efff = is_efff(root)
    if efff:
        warnings.extend(efff_warnings(root, attachments.pdf is not None))
    mismatches = check_totals(root, currency)
    warnings.extend(m.message for m in mismatches)
    metadata: dict[str, Any] = {
        "document_type": "credit_note" if credit else "invoice",
        "type_code": type_code or None,
        "ubl_version": text(root, "cbc:UBLVersionID") or None,
        "customization_id": text(root, "cbc:CustomizationID") or None,
        "profile_id": text(root, "cbc:ProfileID") or None,
        "number": number,
        "issue_date": issue_date,
        "due_date": _due_date(root),
        "currency": currency,
        "totals": _totals(root, currency, warnings),
        # EN 16931 sum rules broken (BR-CO-10..16): kept, flagged, not booked unseen
        "totals_mismatches": [m.as_dict() for m in mismatches],
        "supplier": read_party(
            find(root, "cac:AccountingSupplierParty/cac:Party"), "supplier", warnings
        ),
        "customer": read_party(
            find(root, "cac:AccountingCustomerParty/cac:Party"), "customer", warnings
        ),
        "buyer_reference": text(root, "cbc:BuyerReference") or None,
        "order_reference": text(root, "cac:OrderReference/cbc:ID") or None,
        "billing_references": [
            text(ref)
            for ref in findall(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
        ],
        "payment": _payment(root),
        "lines": len(findall(root, "cac:CreditNoteLine" if credit_root else "cac:InvoiceLine")),
        "attachments": attachments.listing,
    }
    return Reading(
        type="efff" if efff else "ubl",
        media_type=MEDIA_TYPE,
        kind=DocumentKind.CREDIT_NOTE if credit else None,
        number=number,
        issue_date=issue_date,
        metadata=metadata,
        embedded_pdf=attachments.pdf,
        warnings=warnings,
    )


def _check_root(root: etree._Element) -> bool:
    expected = ROOTS[namespace(root)]
    if local_name(root) != expected:
        raise InvalidInput(
            f"the root element <{local_name(root)}> is in the UBL {expected} namespace, "
            f"where only <{expected}> is allowed"
        )
    return expected == "CreditNote"


def _check_element_only(root: etree._Element) -> None:
    """Aggregate (cac:) elements hold elements only; text there means a broken or template file."""
    for element in root.iter(f"{{{CAC}}}*"):
        stray = (element.text or "").strip()
        if stray and local_name(element) != "AdditionalDocumentReference":  # said better there
            raise InvalidInput(
                f"cac:{local_name(element)} contains the text {stray[:40]!r} where the UBL "
                "schema allows only elements; the document is not schema-valid"
            )


def _required(root: etree._Element, path: str, label: str, meaning: str) -> str:
    value = text(root, path)
    if not value:
        raise InvalidInput(f"the {label} has no {path} ({meaning}), which UBL requires")
    return value


def _currency(root: etree._Element, warnings: list[str]) -> str | None:
    declared = text(root, "cbc:DocumentCurrencyCode")
    payable = find(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")
    used = (payable.get("currencyID", "") if payable is not None else "").strip()
    if declared and used and declared != used:
        warnings.append(f"the document currency is {declared} but the amount due is in {used}")
    return declared or used or None


def _due_date(root: etree._Element) -> str | None:
    # Invoice: cbc:DueDate on the root. CreditNote (and e-fff 1.0): PaymentMeans/PaymentDueDate.
    for path in ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"):
        value = text(root, path)
        if value:
            return iso_date(value, path.rsplit(":", 1)[-1])
    return None


def _totals(root: etree._Element, currency: str | None, warnings: list[str]) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for key, path in TOTALS.items():
        value = text(root, f"cac:LegalMonetaryTotal/{path}")
        totals[key] = _money(value, path, warnings) if value else None
    totals["tax"] = None
    tax_totals = findall(root, "cac:TaxTotal/cbc:TaxAmount")
    # A second TaxTotal may repeat the VAT in the tax currency; take the document currency's.
    chosen = next((t for t in tax_totals if t.get("currencyID") == currency), None)
    chosen = chosen if chosen is not None else (tax_totals[0] if tax_totals else None)
    if chosen is not None and text(chosen):
        totals["tax"] = _money(text(chosen), "cbc:TaxAmount", warnings)
    return totals


def _money(value: str, path: str, warnings: list[str]) -> str:
    amount = parse_amount(value, path)
    if amount != amount.quantize(Decimal("0.01")):
        warnings.append(f"{path} {value} has more than two decimals; shown rounded")
    return format_amount(amount)


def _payment(root: etree._Element) -> dict[str, Any]:
    means = find(root, "cac:PaymentMeans")
    return {
        "means_code": text(means, "cbc:PaymentMeansCode") or None,
        "iban": text(means, "cac:PayeeFinancialAccount/cbc:ID") or None,
        "bic": text(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID")
        or None,
        "reference": text(means, "cbc:PaymentID") or text(means, "cbc:InstructionID") or None,
    }
