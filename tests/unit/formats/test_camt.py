"""CAMT.053: the OCA samples value by value, and what a statement needs."""

from __future__ import annotations

import pytest

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.intake import read_document

from .samples import sample

WITH_ENTRIES = "camt/oca-test-camt053.xml"
NO_ENTRIES = "camt/oca-test-camt053-no-ntry.xml"


def test_statement_with_entries() -> None:
    reading = read_document(sample(WITH_ENTRIES))
    meta = reading.metadata
    assert (reading.type, reading.media_type) == ("camt", "application/xml")
    assert reading.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT
    assert (reading.number, reading.issue_date) == ("2", "2014-01-05")  # LglSeqNb, CLBD date
    assert meta["version"] == "camt.053.001.02"
    assert meta["statement_id"] == "1234Test/1"
    assert meta["message_id"] == "TESTBANK/NL/1420561226673"
    assert meta["account"] == "NL77ABNA0574908765"
    assert meta["account_holder"] == "Example company"
    assert (meta["currency"], meta["bank_bic"], meta["bank_id"]) == ("EUR", "ABNANL2A", None)
    assert (meta["opening_balance"], meta["closing_balance"]) == ("15568.27", "15121.12")
    assert meta["movements"] == 3
    assert (meta["total_credit"], meta["total_debit"]) == ("1405.31", "1418.30")
    # The public sample does not add up; a bank's file is reported, not refused.
    assert reading.warnings == [
        "statement 2: the new balance is 15121.12 but the old balance 15568.27 + credits "
        "1405.31 - debits 1418.30 = 15555.28"
    ]


def test_statement_without_entries() -> None:
    reading = read_document(sample(NO_ENTRIES))
    meta = reading.metadata
    assert meta["version"] == "camt.053.001.04"
    assert (meta["currency"], meta["movements"]) == ("CHF", 0)
    assert meta["opening_balance"] == meta["closing_balance"] == "1520.76"
    assert (meta["total_credit"], meta["total_debit"]) == ("0.00", "0.00")
    assert reading.warnings == []


def test_statement_without_closing_balance_is_refused() -> None:
    data = sample(NO_ENTRIES).replace(b"<Cd>CLBD</Cd>", b"<Cd>CLAV</Cd>")
    with pytest.raises(InvalidInput, match=r"needs an opening \(OPBD/PRCD\) and a closing"):
        read_document(data)


def test_debit_balances_are_negative_and_summary_is_checked() -> None:
    data = sample(NO_ENTRIES).replace(
        b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>DBIT</CdtDbtInd>"
    )
    summary = (
        b"<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries></TtlNtries>"
        b"<TtlCdtNtries><Sum>5.00</Sum></TtlCdtNtries></TxsSummry></Stmt>"
    )
    data = data.replace(b"</Stmt>", summary)
    reading = read_document(data)
    assert reading.metadata["opening_balance"] == "-1520.76"
    assert "statement 2: the summary counts 2 entries, the file has 0" in reading.warnings
    assert "statement 2: the summary's credit total is 5.00, the entries add up to 0.00" in (
        reading.warnings
    )


def test_message_without_statement_is_refused() -> None:
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        b"<BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>"
    )
    with pytest.raises(InvalidInput, match=r"holds no statement \(Stmt\)"):
        read_document(data)


def test_other_iso20022_message_is_refused_by_name() -> None:
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'
        b"<BkToCstmrDbtCdtNtfctn/></Document>"
    )
    with pytest.raises(
        InvalidInput, match=r"ISO 20022 camt\.054\.001\.02 message, not a camt\.053"
    ):
        read_document(data)


def test_two_statements() -> None:
    data = sample(NO_ENTRIES)
    start, end = data.index(b"<Stmt>"), data.index(b"</Stmt>") + len(b"</Stmt>")
    doubled = data[:end] + data[start:end].replace(b"<LglSeqNb>2<", b"<LglSeqNb>3<") + data[end:]
    reading = read_document(doubled)
    assert reading.number == "2"
    assert [s["statement_number"] for s in reading.metadata["statements"]] == ["2", "3"]
    assert "the file holds 2 statements; the summary shows the first one" in reading.warnings
