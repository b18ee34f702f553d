"""A small UBL document as text, for tests that need to break one thing at a time."""

from __future__ import annotations

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"

PARTY = """
    <cac:Party>
      <cbc:EndpointID schemeID="0208">{number}</cbc:EndpointID>
      <cac:PartyName><cbc:Name>{name}</cbc:Name></cac:PartyName>
      <cac:PostalAddress><cac:Country><cbc:IdentificationCode>BE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
      <cac:PartyTaxScheme><cbc:CompanyID>BE{number}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
      <cac:PartyLegalEntity><cbc:RegistrationName>{name}</cbc:RegistrationName></cac:PartyLegalEntity>
    </cac:Party>"""


def ubl_document(
    *,
    root: str = "Invoice",
    namespace: str = INVOICE_NS,
    head: str = "",
    number: str = "<cbc:ID>INV-7</cbc:ID>",
    issue_date: str = "<cbc:IssueDate>2025-03-14</cbc:IssueDate>",
    type_code: str = "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
    currency: str = "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>",
    references: str = "",
    payment: str = "",
    payable: str = '<cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount>',
    supplier: str = "0123456749",
    customer: str = "0417497106",
) -> bytes:
    """An Invoice (or CreditNote) with each part replaceable; defaults give a valid document."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="{namespace}"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  {head}
  {number}
  {issue_date}
  {type_code}
  {currency}
  {references}
  <cac:AccountingSupplierParty>{PARTY.format(number=supplier, name="Demo Shop NV")}
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>{PARTY.format(number=customer, name="Client SRL")}
  </cac:AccountingCustomerParty>
  {payment}
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    {payable}
  </cac:LegalMonetaryTotal>
</{root}>""".encode()


def embedded(payload: str, mime: str = "application/pdf", filename: str = "doc.pdf") -> str:
    return f"""<cac:AdditionalDocumentReference>
    <cbc:ID>INV-7</cbc:ID>
    <cac:Attachment>
      <cbc:EmbeddedDocumentBinaryObject mimeCode="{mime}" filename="{filename}"
        >{payload}</cbc:EmbeddedDocumentBinaryObject>
    </cac:Attachment>
  </cac:AdditionalDocumentReference>"""
