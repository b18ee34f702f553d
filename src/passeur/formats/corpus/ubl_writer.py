"""Peppol BIS Billing 3.0 UBL for the corpus, with the invoice's PDF embedded.

Elements are written in UBL 2.1 schema order. Belgian parties are addressed by enterprise
number (EndpointID scheme 0208), as Belgian e-invoicing prefers.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from lxml import etree

from passeur.formats.corpus.invoices import Invoice
from passeur.formats.corpus.parties import Company
from passeur.formats.ubl_names import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
# The root's own namespace is the default one, as in every Peppol example.
NSMAP: dict[str, Any] = {
    ns: {None: ns, "cac": CAC, "cbc": CBC} for ns in (INVOICE_NS, CREDIT_NOTE_NS)
}


def _cbc(parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}", attributes)
    element.text = text
    return element


def _cac(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, f"{value:.2f}", currencyID=currency)


def make_ubl(invoice: Invoice, pdf: bytes | None = None) -> bytes:
    """The UBL Invoice (or CreditNote) as UTF-8 bytes; `pdf` goes in AdditionalDocumentReference."""
    credit = invoice.credit_note
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap=NSMAP[root_ns],
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if not credit:  # a CreditNote has no DueDate; see PaymentMeans below
        _cbc(root, "DueDate", invoice.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    _cbc(root, "DocumentCurrencyCode", invoice.currency)
    _cbc(root, "BuyerReference", invoice.customer.enterprise_number)
    if invoice.billing_reference:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", invoice.billing_reference)
    if pdf is not None:
        document = _cac(root, "AdditionalDocumentReference")
        _cbc(document, "ID", invoice.number)
        _cbc(document, "DocumentDescription", "Visual representation")
        attachment = _cac(document, "Attachment")
        _cbc(
            attachment,
            "EmbeddedDocumentBinaryObject",
            base64.b64encode(pdf).decode("ascii"),
            mimeCode="application/pdf",
            filename=f"{invoice.number}.pdf",
        )
    _party(_cac(root, "AccountingSupplierParty"), invoice.supplier)
    _party(_cac(root, "AccountingCustomerParty"), invoice.customer)
    _payment(root, invoice)
    _tax_total(root, invoice)
    totals = _cac(root, "LegalMonetaryTotal")
    for name, value in (
        ("LineExtensionAmount", invoice.net_total),
        ("TaxExclusiveAmount", invoice.net_total),
        ("TaxInclusiveAmount", invoice.total),
        ("PayableAmount", invoice.total),
    ):
        _amount(totals, name, value, invoice.currency)
    _lines(root, invoice)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _party(role: etree._Element, company: Company) -> None:
    party = _cac(role, "Party")
    _cbc(party, "EndpointID", company.enterprise_number, schemeID="0208")
    _cbc(_cac(party, "PartyName"), "Name", company.name)
    address = _cac(party, "PostalAddress")
    _cbc(address, "StreetName", company.street)
    _cbc(address, "CityName", company.city)
    _cbc(address, "PostalZone", company.postal_zone)
    _cbc(_cac(address, "Country"), "IdentificationCode", "BE")
    tax_scheme = _cac(party, "PartyTaxScheme")
    _cbc(tax_scheme, "CompanyID", company.vat)
    _cbc(_cac(tax_scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", company.name)
    _cbc(legal, "CompanyID", company.enterprise_number, schemeID="0208")


def _payment(root: etree._Element, invoice: Invoice) -> None:
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", "30", name="Credit transfer")
    if invoice.credit_note:
        _cbc(means, "PaymentDueDate", invoice.due_date.isoformat())
    _cbc(means, "PaymentID", invoice.payment_reference)
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", invoice.supplier.iban)
    _cbc(account, "Name", invoice.supplier.name)
    _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", invoice.supplier.bic)


def _tax_total(root: etree._Element, invoice: Invoice) -> None:
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", invoice.vat_total, invoice.currency)
    for rate, base, vat in invoice.vat_breakdown():
        subtotal = _cac(tax_total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", base, invoice.currency)
        _amount(subtotal, "TaxAmount", vat, invoice.currency)
        _tax_category(_cac(subtotal, "TaxCategory"), rate)


def _tax_category(category: etree._Element, rate: Decimal) -> None:
    _cbc(category, "ID", "S")
    _cbc(category, "Percent", f"{rate:.2f}")
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _lines(root: etree._Element, invoice: Invoice) -> None:
    credit = invoice.credit_note
    for number, line in enumerate(invoice.lines, 1):
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", str(number))
        _cbc(
            element,
            "CreditedQuantity" if credit else "InvoicedQuantity",
            str(line.quantity),
            unitCode=line.unit_code,
        )
        _amount(element, "LineExtensionAmount", line.net, invoice.currency)
        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)
        _tax_category(_cac(item, "ClassifiedTaxCategory"), line.vat_rate)
        _amount(_cac(element, "Price"), "PriceAmount", line.unit_price, invoice.currency)
