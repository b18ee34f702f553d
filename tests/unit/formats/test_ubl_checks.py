"""UBL rules intake depends on, one broken at a time, and the embedded PDF."""

from __future__ import annotations

import base64

import pytest

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.corpus import make_padded_pdf
from passeur.formats.intake import read_document

from .ubl_text import CREDIT_NOTE_NS, embedded, ubl_document

PDF = make_padded_pdf(3000, seed=7)


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_document(data)
    return str(caught.value)


def test_the_template_is_valid() -> None:
    reading = read_document(ubl_document())
    assert (reading.type, reading.number, reading.issue_date) == ("ubl", "INV-7", "2025-03-14")
    assert reading.metadata["supplier"]["enterprise_number"] == "0123456749"
    assert reading.metadata["customer"]["vat"] == "BE0417497106"
    assert reading.warnings == []


def test_embedded_pdf_is_extracted() -> None:
    payload = base64.encodebytes(PDF).decode()  # with line breaks, as many producers write it
    reading = read_document(ubl_document(references=embedded(payload)))
    assert reading.embedded_pdf == PDF
    assert reading.metadata["attachments"][0]["is_pdf"] is True
    assert reading.metadata["attachments"][0]["size"] == len(PDF)


def test_pdf_declared_as_another_type_is_still_a_pdf() -> None:
    b64 = base64.b64encode(PDF).decode()
    reading = read_document(ubl_document(references=embedded(b64, mime="image/png")))
    assert reading.embedded_pdf == PDF


def test_broken_embedded_pdf_is_reported_not_returned() -> None:
    b64 = base64.b64encode(PDF[:1000]).decode()
    reading = read_document(ubl_document(references=embedded(b64)))
    assert reading.embedded_pdf is None
    assert any("cannot be used" in w for w in reading.warnings)


def test_payload_that_is_not_base64_is_refused() -> None:
    message = refused(ubl_document(references=embedded("this is *not* base64!")))
    assert "not valid base64" in message and "'INV-7'" in message


def test_reference_without_id_is_refused() -> None:
    references = embedded("JVBERi0=").replace("<cbc:ID>INV-7</cbc:ID>", "")
    assert "has no cbc:ID" in refused(ubl_document(references=references))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"number": ""}, "has no cbc:ID (its number)"),
        ({"issue_date": ""}, "has no cbc:IssueDate"),
        (
            {"issue_date": "<cbc:IssueDate>2025-02-30</cbc:IssueDate>"},
            "'2025-02-30', which is not a date",
        ),
        ({"payable": ""}, "no LegalMonetaryTotal/PayableAmount"),
        (
            {"payable": '<cbc:PayableAmount currencyID="EUR">12,50</cbc:PayableAmount>'},
            "'12,50', which is not an amount",
        ),
        (
            {"payable": '<cbc:PayableAmount currencyID="EUR">1E3</cbc:PayableAmount>'},
            "not an amount",
        ),
        ({"root": "CreditNote"}, "<CreditNote> is in the UBL Invoice namespace"),
    ],
)
def test_broken_document_is_refused(change: dict[str, str], words: str) -> None:
    assert words in refused(ubl_document(**change))


def test_text_inside_an_aggregate_is_refused() -> None:
    payment = "<cac:PaymentMeans>to be completed</cac:PaymentMeans>"
    message = refused(ubl_document(payment=payment))
    assert "cac:PaymentMeans contains the text 'to be completed'" in message


def test_missing_party_is_refused() -> None:
    data = ubl_document().replace(b"AccountingCustomerParty>", b"AccountingCustomerPartyX>")
    assert "no cac:AccountingCustomerParty" in refused(data)


def test_credit_note_due_date_comes_from_payment_means() -> None:
    data = ubl_document(
        root="CreditNote",
        namespace=CREDIT_NOTE_NS,
        type_code="<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>",
        payment="<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
        "<cbc:PaymentDueDate>2025-04-30</cbc:PaymentDueDate></cac:PaymentMeans>",
    )
    reading = read_document(data)
    assert reading.kind is DocumentKind.CREDIT_NOTE
    assert reading.metadata["due_date"] == "2025-04-30"


def test_invoice_with_type_381_is_a_credit_note() -> None:
    reading = read_document(
        ubl_document(type_code="<cbc:InvoiceTypeCode>381</cbc:InvoiceTypeCode>")
    )
    assert reading.kind is DocumentKind.CREDIT_NOTE
    assert reading.metadata["document_type"] == "credit_note"


def test_amount_with_three_decimals_is_rounded_with_a_warning() -> None:
    payable = '<cbc:PayableAmount currencyID="EUR">121.005</cbc:PayableAmount>'
    reading = read_document(ubl_document(payable=payable))
    assert reading.metadata["totals"]["payable"] == "121.01"
    assert "cbc:PayableAmount 121.005 has more than two decimals; shown rounded" in reading.warnings


def test_currency_mismatch_is_reported() -> None:
    payable = '<cbc:PayableAmount currencyID="USD">121.00</cbc:PayableAmount>'
    reading = read_document(ubl_document(payable=payable))
    assert reading.metadata["currency"] == "EUR"
    assert "the document currency is EUR but the amount due is in USD" in reading.warnings


def test_currency_falls_back_to_the_amount() -> None:
    reading = read_document(ubl_document(currency=""))
    assert reading.metadata["currency"] == "EUR"


def test_vat_endpoint_9925_and_enterprise_number_agree() -> None:
    data = ubl_document().replace(
        b'<cbc:EndpointID schemeID="0208">0123456749</cbc:EndpointID>',
        b'<cbc:EndpointID schemeID="9925">be 0123.456.749</cbc:EndpointID>',
    )
    data = data.replace(b"<cbc:CompanyID>BE0123456749</cbc:CompanyID>", b"")
    supplier = read_document(data).metadata["supplier"]
    assert supplier["vat"] == "BE0123456749"
    assert supplier["enterprise_number"] == "0123456749"  # the same ten digits
