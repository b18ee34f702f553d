"""A UBL 2.1 invoice (Peppol BIS 3, which e-fff 3.0 follows) made from a PDF and what is
known about it: the facts intake or a person extracted, and the client whose document it is.

What is not known is not invented: unknown amounts are written as a zero summary line and
a note sends the reader to the PDF, which is embedded and is the legally prevailing
document in e-fff. Elements are written in UBL 2.1 schema order.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from passeur.formats.amounts import CENT, format_amount, parse_amount
from passeur.formats.pdf_embedding import safe_filename
from passeur.formats.ubl_names import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
UNKNOWN_AMOUNTS = "Amounts not extracted from the PDF: the attached PDF holds them."


@dataclass(frozen=True)
class Facts:
    """What is known of an invoice that arrived as a PDF. Parties are dicts with the keys
    of intake's UBL metadata (name, trading_name, vat, enterprise_number, country)."""

    number: str
    issue_date: str  # YYYY-MM-DD
    credit_note: bool = False
    due_date: str | None = None
    currency: str = "EUR"
    supplier: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    # tax_exclusive, tax, payable as decimal strings; None where unknown
    totals: dict[str, Any] = field(default_factory=dict)
    billing_reference: str | None = None
    payment_reference: str | None = None


def invoice_from_pdf(facts: Facts, pdf: bytes, pdf_name: str) -> bytes:
    """The UBL as UTF-8 bytes, with `pdf` embedded."""
    credit = facts.credit_note
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    nsmap: dict[Any, str] = {None: root_ns, "cac": CAC, "cbc": CBC}  # the root's own is default
    root = etree.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}", nsmap=nsmap)
    amounts = _amounts(facts.totals)
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", facts.number)
    _cbc(root, "IssueDate", facts.issue_date)
    if facts.due_date and not credit:
        _cbc(root, "DueDate", facts.due_date)
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    if amounts is None:
        _cbc(root, "Note", UNKNOWN_AMOUNTS)
    _cbc(root, "DocumentCurrencyCode", facts.currency)
    _cbc(root, "BuyerReference", facts.number)  # Peppol R003 wants one; none is known
    if facts.billing_reference:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", facts.billing_reference)
    attachment = _cac(root, "AdditionalDocumentReference")
    _cbc(attachment, "ID", facts.number)
    _cbc(
        _cac(attachment, "Attachment"),
        "EmbeddedDocumentBinaryObject",
        base64.b64encode(pdf).decode("ascii"),
        mimeCode="application/pdf",
        filename=safe_filename(pdf_name),
    )
    _party(_cac(root, "AccountingSupplierParty"), facts.supplier, "supplier")
    _party(_cac(root, "AccountingCustomerParty"), facts.customer, "customer")
    if facts.payment_reference:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "30")
        _cbc(means, "PaymentID", facts.payment_reference)
    _tax_and_totals(root, facts, amounts or (Decimal(0), Decimal(0), Decimal(0)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _amounts(totals: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(tax exclusive, tax, payable), completed from two of them; None when unknown."""
    found = {
        key: parse_amount(str(totals[key]), key) if totals.get(key) is not None else None
        for key in ("tax_exclusive", "tax", "payable")
    }
    net, tax, payable = found["tax_exclusive"], found["tax"], found["payable"]
    if payable is None:
        return None if net is None else (net, tax or Decimal(0), net + (tax or Decimal(0)))
    if net is None:
        net = payable - (tax or Decimal(0))
    if tax is None:
        tax = payable - net
    return net, tax, payable


def _tax_and_totals(
    root: etree._Element, facts: Facts, amounts: tuple[Decimal, Decimal, Decimal]
) -> None:
    net, tax, payable = amounts
    currency = facts.currency
    # One VAT breakdown: the rate is what the known amounts imply (the PDF has the detail).
    rate = (tax * 100 / net).quantize(CENT) if net else Decimal(0)
    category = "S" if tax else "Z"
    total = _cac(root, "TaxTotal")
    _money(total, "TaxAmount", tax, currency)
    subtotal = _cac(total, "TaxSubtotal")
    _money(subtotal, "TaxableAmount", net, currency)
    _money(subtotal, "TaxAmount", tax, currency)
    _category(_cac(subtotal, "TaxCategory"), category, rate)
    legal = _cac(root, "LegalMonetaryTotal")
    _money(legal, "LineExtensionAmount", net, currency)
    _money(legal, "TaxExclusiveAmount", net, currency)
    _money(legal, "TaxInclusiveAmount", net + tax, currency)
    rounding = payable - (net + tax)
    if rounding:
        _money(legal, "PayableRoundingAmount", rounding, currency)
    _money(legal, "PayableAmount", payable, currency)
    line = _cac(root, "CreditNoteLine" if facts.credit_note else "InvoiceLine")
    _cbc(line, "ID", "1")
    _cbc(line, "CreditedQuantity" if facts.credit_note else "InvoicedQuantity", "1", unitCode="C62")
    _money(line, "LineExtensionAmount", net, currency)
    item = _cac(line, "Item")
    _cbc(item, "Name", f"{'Credit note' if facts.credit_note else 'Invoice'} {facts.number}")
    _category(_cac(item, "ClassifiedTaxCategory"), category, rate)
    _money(_cac(line, "Price"), "PriceAmount", net, currency)


def _party(parent: etree._Element, party: dict[str, Any], role: str) -> None:
    element = _cac(parent, "Party")
    number, vat = party.get("enterprise_number"), party.get("vat")
    if number:
        _cbc(element, "EndpointID", number, schemeID="0208")
    elif vat:
        _cbc(element, "EndpointID", vat, schemeID="9925")
    trading = party.get("trading_name")
    if trading:
        _cbc(_cac(element, "PartyName"), "Name", trading)
    country = party.get("country") or ("BE" if (vat or "").startswith("BE") or number else "")
    if country:
        _cbc(_cac(_cac(element, "PostalAddress"), "Country"), "IdentificationCode", country)
    if vat:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", vat)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.get("name") or f"Unknown {role} (see the PDF)")
    if number:
        _cbc(legal, "CompanyID", number, schemeID="0208")


def _category(parent: etree._Element, category: str, rate: Decimal) -> None:
    _cbc(parent, "ID", category)
    _cbc(parent, "Percent", f"{rate:.2f}")
    _cbc(_cac(parent, "TaxScheme"), "ID", "VAT")


def _money(parent: etree._Element, tag: str, value: Decimal, currency: str) -> None:
    _cbc(parent, tag, format_amount(value), currencyID=currency)


def _cbc(parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}", attributes)
    element.text = text
    return element


def _cac(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")
