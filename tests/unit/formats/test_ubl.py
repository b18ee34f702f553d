"""UBL 2.1 / Peppol BIS 3 samples: the metadata read from each, checked value by value."""

from __future__ import annotations

from typing import Any

import pytest

from passeur.domain.documents import DocumentKind
from passeur.formats.intake import read_document

from .samples import sample


def read(name: str) -> Any:
    return read_document(sample(f"ubl/{name}"))


def test_base_example_invoice() -> None:
    reading = read("peppol-base-example.xml")
    meta = reading.metadata
    assert (reading.type, reading.media_type, reading.kind) == ("ubl", "application/xml", None)
    assert (reading.number, reading.issue_date) == ("Snippet1", "2017-11-13")
    assert meta["document_type"] == "invoice" and meta["type_code"] == "380"
    assert meta["due_date"] == "2017-12-01"
    assert meta["currency"] == "EUR"
    assert meta["totals"] == {
        "line_extension": "1300.00",
        "tax_exclusive": "1325.00",
        "tax": "331.25",
        "tax_inclusive": "1656.25",
        "payable": "1656.25",
    }
    assert meta["supplier"] == {
        "name": "SupplierOfficialName Ltd",
        "trading_name": "SupplierTradingName Ltd.",
        "legal_name": "SupplierOfficialName Ltd",
        "vat": "GB1232434",
        "enterprise_number": None,
        "endpoint_id": "9482348239847239874",
        "endpoint_scheme": "0088",
        "legal_id": "GB983294",
        "country": "GB",
    }
    assert meta["customer"]["name"] == "Buyer Official Name"
    assert meta["customer"]["trading_name"] == "BuyerTradingName AS"
    assert meta["customer"]["vat"] == "SE4598375937"
    assert meta["buyer_reference"] == "0150abc"
    assert meta["payment"] == {
        "means_code": "30",
        "iban": "IBAN32423940",
        "bic": "BIC324098",
        "reference": "Snippet1",
    }
    assert meta["lines"] == 2
    assert reading.embedded_pdf is None and reading.warnings == []


def test_peppol_credit_note_is_a_credit_note() -> None:
    reading = read("peppol-base-creditnote-correction.xml")
    assert reading.kind is DocumentKind.CREDIT_NOTE
    assert reading.metadata["document_type"] == "credit_note"
    assert reading.metadata["type_code"] == "381"
    assert reading.metadata["billing_references"] == ["Snippet1"]
    assert reading.metadata["due_date"] is None  # neither DueDate nor PaymentDueDate
    assert reading.metadata["totals"]["payable"] == "1656.25"


def test_negative_invoice_keeps_its_signs() -> None:
    reading = read("peppol-base-negative-inv-correction.xml")
    assert reading.number == "Correction1" and reading.kind is None
    assert reading.metadata["totals"]["payable"] == "-1656.25"
    assert reading.metadata["totals"]["tax"] == "-331.25"


def test_belgian_credit_note_parties_and_enterprise_numbers() -> None:
    reading = read("cef-ubl-tc434-creditnote1-BE.xml")
    meta = reading.metadata
    assert reading.kind is DocumentKind.CREDIT_NOTE
    assert (reading.number, reading.issue_date) == ("018304 / 28865", "2019-09-23")
    assert meta["supplier"]["name"] == "My Supplier Company"
    assert meta["supplier"]["trading_name"] == "My Supplier Company N.V."
    assert meta["customer"]["name"] == "My Customer Company"
    assert meta["customer"]["trading_name"] == "My Customer Company S.A."
    assert meta["supplier"]["vat"] == "BE0000000196"
    assert meta["supplier"]["enterprise_number"] == "0000000196"
    assert meta["customer"]["vat"] == "BE0000000295"
    assert meta["customer"]["enterprise_number"] == "0000000295"
    assert meta["totals"]["payable"] == "100.11" and meta["totals"]["tax"] == "0.00"
    assert meta["payment"]["iban"] == "BE91000000143476"
    assert reading.warnings == []  # both numbers have valid check digits


def test_odoo_belgian_invoice_flags_a_bad_check_digit() -> None:
    reading = read("odoo-BEG-testcase01_minimal_invoice.xml")
    meta = reading.metadata
    assert (reading.number, reading.issue_date, meta["due_date"]) == (
        "2019000001",
        "2018-04-09",
        "2018-05-09",
    )
    assert meta["supplier"]["enterprise_number"] == "0123456749"
    assert meta["supplier"]["vat"] == "BE0123456749"
    assert meta["customer"]["name"] == "Hotel Local SPRL"
    assert meta["customer"]["trading_name"] == "Hotel Local SPRL - Nom commercial"
    assert meta["supplier"]["name"] == "Demo Shop NV"
    assert meta["supplier"]["trading_name"] == "Demo Shop NV - Commercial name"
    assert meta["totals"]["tax_exclusive"] == "2600.00"
    assert meta["totals"]["tax"] == "516.00"
    assert meta["totals"]["payable"] == "3116.00"
    assert meta["order_reference"] == "YR127129"
    # 0214168947: 02141689 mod 97 = 26, so the check digits should be 71.
    assert "the customer's enterprise number 0214168947 has wrong check digits" in reading.warnings


def test_norwegian_example_declared_pdf_is_not_extracted() -> None:
    reading = read("peppol-NO-Norwegian-example-1.xml")
    meta = reading.metadata
    assert reading.embedded_pdf is None
    assert any("'Hours-spent.csv' is declared application/pdf" in w for w in reading.warnings)
    assert meta["attachments"][1] == {
        "id": "Doc2",
        "description": "EHF specification",
        "filename": "Hours-spent.csv",
        "mime_code": "application/pdf",
        "size": len(b"Test base 64 encoding"),
        "is_pdf": False,
        "uri": None,
    }
    assert meta["attachments"][0]["uri"] == "http://www.suppliersite.eu/sheet001.html"
    assert (reading.number, meta["currency"], meta["due_date"]) == ("TOSL108", "NOK", "2013-07-20")
    assert meta["totals"]["payable"] == "802.00"  # after 1000.00 prepaid and 0.22 rounding
    assert meta["totals"]["tax_inclusive"] == "1801.78"
    assert meta["supplier"]["vat"] == "NO123456785MVA"  # the VAT scheme, not the TAX one
    assert meta["lines"] == 5


@pytest.mark.parametrize(
    ("name", "number", "currency", "payable", "customer"),
    [
        ("peppol-vat-category-E.xml", "Vat-Z", "GBP", "1200.00", "The Buyercompany"),
        ("peppol-vat-category-O.xml", "Vat-O", "SEK", "3200.00", "The Buyercompany"),
        ("peppol-vat-category-Z.xml", "Vat-Z", "GBP", "1200.00", "The Buyercompany"),
    ],
)
def test_vat_category_examples(
    name: str, number: str, currency: str, payable: str, customer: str
) -> None:
    reading = read(name)
    assert (reading.number, reading.issue_date) == (number, "2018-08-30")
    assert reading.metadata["currency"] == currency
    assert reading.metadata["totals"]["payable"] == payable
    assert reading.metadata["totals"]["tax"] == "0.00"
    assert reading.metadata["customer"]["name"] == customer
    assert reading.metadata["supplier"]["name"] == "The Sellercompany Incorporated"
