"""inspect(): the JSON `passeur documents inspect --json` prints, with stable keys."""

from __future__ import annotations

import json

import pytest

from passeur.formats.inspection import KEYS, inspect

from .samples import sample

BEG = "ubl/odoo-BEG-testcase01_minimal_invoice.xml"  # supplier 0123456749, customer 0214168947
CREDIT = "ubl/cef-ubl-tc434-creditnote1-BE.xml"  # supplier 0000000196, customer 0000000295


def test_invoice_without_client_has_no_direction() -> None:
    result = inspect(sample(BEG), "in.xml")
    assert list(result) == list(KEYS)
    assert result["file"] == "in.xml"
    assert (result["type"], result["kind"], result["direction"]) == ("ubl", None, None)
    assert (result["number"], result["issue_date"], result["due_date"]) == (
        "2019000001",
        "2018-04-09",
        "2018-05-09",
    )
    assert (result["currency"], result["total"]) == ("EUR", "3116.00")
    assert result["supplier"] == {
        "name": "Demo Shop NV",  # the legal registration name (BT-27)
        "trading_name": "Demo Shop NV - Commercial name",  # PartyName (BT-28), apart
        "vat": "BE0123456749",
        "enterprise_number": "0123456749",
    }
    assert result["customer"]["enterprise_number"] == "0214168947"
    assert result["has_pdf"] is False and result["account"] is None
    assert result["variables"] == {
        "invoice_type": None,
        "year": "2018",
        "month": "04",
        "document_number": "2019000001",
    }
    assert result["errors"] == []
    json.dumps(result)  # JSON-friendly


@pytest.mark.parametrize(
    ("client", "kind", "direction", "invoice_type"),
    [
        ({"client_enterprise_number": "0123.456.749"}, "sales_invoice", "sales", "sales"),
        ({"client_vat": "BE0123456749"}, "sales_invoice", "sales", "sales"),
        ({"client_vat": "BE 0214.168.947"}, "purchase_invoice", "purchase", "purchases"),
        ({"client_enterprise_number": "214168947"}, "purchase_invoice", "purchase", "purchases"),
    ],
)
def test_client_decides_the_direction(
    client: dict[str, str], kind: str, direction: str, invoice_type: str
) -> None:
    result = inspect(
        sample(BEG),
        "in.xml",
        client_vat=client.get("client_vat"),
        client_enterprise_number=client.get("client_enterprise_number"),
    )
    assert (result["kind"], result["direction"]) == (kind, direction)
    assert result["variables"]["invoice_type"] == invoice_type


def test_stranger_leaves_the_direction_open() -> None:
    result = inspect(sample(BEG), "in.xml", client_vat="BE0417497106")
    assert result["direction"] is None and result["kind"] is None
    assert (
        "the client is neither supplier nor customer; purchase or sale cannot be decided"
        in (result["warnings"])
    )


def test_credit_note_direction() -> None:
    unknown = inspect(sample(CREDIT), "cn.xml")
    assert (unknown["kind"], unknown["direction"], unknown["variables"]["invoice_type"]) == (
        "credit_note",
        None,
        None,
    )
    bought = inspect(sample(CREDIT), "cn.xml", client_enterprise_number="0000000295")
    assert (bought["kind"], bought["direction"], bought["variables"]["invoice_type"]) == (
        "credit_note",
        "purchase",
        "purchases",
    )


def test_statement() -> None:
    result = inspect(sample("coda/pycoda-Coda_v2_3_globalisation.txt"), "s.cod")
    assert (result["type"], result["kind"], result["direction"]) == (
        "coda",
        "enriched_movement_report",
        None,
    )
    assert result["account"] == {
        "number": "BE12341676096039",
        "holder": "SA XXXX MARKET",
        "bank": "GEBABEBB",
        "statement_number": "159",
        "opening_balance": "-455.17",
        "closing_balance": "275270.53",
        "movements": 4,
    }
    assert result["variables"] == {
        "invoice_type": "cod",
        "year": "2014",
        "month": "12",
        "document_number": "159",
    }
    assert result["supplier"] is None and result["total"] is None


def test_camt_statement_account() -> None:
    result = inspect(sample("camt/oca-test-camt053.xml"), "c.xml")
    assert result["account"]["number"] == "NL77ABNA0574908765"
    assert result["account"]["bank"] == "ABNANL2A"
    assert result["currency"] == "EUR"
    assert len(result["warnings"]) == 1


def test_refused_file_fills_errors() -> None:
    result = inspect(sample("coda/pycoda-Coda_faulty_version.INVALID.txt"), "bad.cod")
    assert list(result) == list(KEYS)
    assert result["type"] is None and result["kind"] is None
    assert len(result["errors"]) == 1 and "version digit" in result["errors"][0]
    assert not result["errors"][0].startswith("bad.cod")  # the file is its own key
    assert result["variables"] == {
        "invoice_type": None,
        "year": None,
        "month": None,
        "document_number": None,
    }


def test_pdf_has_pdf() -> None:
    from passeur.formats.corpus import make_padded_pdf

    result = inspect(make_padded_pdf(2000), "x.pdf")
    assert (result["type"], result["has_pdf"], result["kind"]) == ("pdf", True, None)
    assert result["variables"]["invoice_type"] is None
