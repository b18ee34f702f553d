"""e-fff: the Odoo sample and the lenient detection of e-fff markers."""

from __future__ import annotations

import pytest

from passeur.formats.intake import read_document

from .samples import sample
from .ubl_text import ubl_document


def test_odoo_efff_invoice() -> None:
    reading = read_document(sample("efff/odoo-efff_test.xml"))
    meta = reading.metadata
    assert (reading.type, reading.kind) == ("efff", None)
    assert (reading.number, reading.issue_date) == ("2019/045", "2019-01-31")
    assert meta["ubl_version"] == "2.0"
    assert meta["profile_id"] == "FFF.BE KOALABOOX 1.0.0"
    assert meta["due_date"] == "2019-02-07"  # PaymentMeans/PaymentDueDate in e-fff 1.0
    assert meta["totals"]["tax_exclusive"] == "550.83"
    assert meta["totals"]["tax"] == "115.67"
    assert meta["totals"]["payable"] == "666.50"
    assert meta["supplier"]["name"] == "The best supplier"
    # KBO number marked by schemeAgencyName, written with 9 digits (leading 0 dropped).
    assert meta["supplier"]["enterprise_number"] == "0123456789"
    assert meta["supplier"]["vat"] == "BE0123456789"  # from an EndpointID mislabelled GLN
    assert meta["customer"]["name"] == "Just a customer"
    assert meta["customer"]["vat"] is None
    assert meta["payment"]["reference"] == "+++000/0000/00505+++"
    assert reading.embedded_pdf is None
    assert (
        "e-fff expects the invoice's PDF embedded in AdditionalDocumentReference; "
        "this file carries none" in reading.warnings
    )
    assert "the supplier's VAT number BE0123456789 has wrong check digits" in reading.warnings


@pytest.mark.parametrize(
    "head",
    [
        "<cbc:CustomizationID>urn:www.e-fff.be:invoice:3.0</cbc:CustomizationID>",
        "<cbc:ProfileID>EFFF invoice</cbc:ProfileID>",
        "<cbc:ProfileID>FFF.be ACME 2.1</cbc:ProfileID>",
    ],
)
def test_efff_markers(head: str) -> None:
    assert read_document(ubl_document(head=head)).type == "efff"


def test_type_code_list_uri_marks_efff() -> None:
    code = '<cbc:InvoiceTypeCode listURI="http://www.FFF.be/ubl/2.0/cl/gc/BE-InvoiceCode-1.0.gc">380</cbc:InvoiceTypeCode>'
    assert read_document(ubl_document(type_code=code)).type == "efff"


def test_plain_ubl_20_is_not_efff() -> None:
    head = "<cbc:UBLVersionID>2.0</cbc:UBLVersionID><cbc:CustomizationID>1.0</cbc:CustomizationID>"
    reading = read_document(ubl_document(head=head))
    assert reading.type == "ubl"
    assert reading.metadata["ubl_version"] == "2.0"
