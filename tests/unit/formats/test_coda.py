"""CODA: the real samples value by value, then one rule broken at a time."""

from __future__ import annotations

import pytest

from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.formats.coda import parse_coda
from passeur.formats.intake import read_document

from .samples import sample

ODOO_LF = "coda/odoo-Ontvangen_CODA.2011-01-11-18.59.15.txt"
ODOO_CRLF = "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt"
GLOBALISATION = "coda/pycoda-Coda_v2_3_globalisation.txt"
GLOBALISATION_2 = "coda/pycoda-Coda_v2_3_globalisation_2.txt"


def lines(name: str) -> list[bytes]:
    """The records of a sample, without line ends."""
    return sample(name).replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")


def joined(records: list[bytes]) -> bytes:
    return b"\n".join(records)


def put(record: bytes, position: int, text: bytes) -> bytes:
    """Overwrite `record` at 1-based `position` (as the Febelfin text counts)."""
    start = position - 1
    return record[:start] + text + record[start + len(text) :]


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_document(data)
    return str(caught.value)


def test_odoo_statement() -> None:
    reading = read_document(sample(ODOO_LF))
    meta = reading.metadata
    assert (reading.type, reading.media_type) == ("coda", "text/x-coda")
    assert reading.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT
    assert (reading.number, reading.issue_date) == ("135", "2011-01-11")
    assert meta["account"] == "BE33737018595246"
    assert meta["account_holder"] == "NOVIAT NV"
    assert meta["currency"] == "EUR"
    assert (meta["opening_balance"], meta["opening_date"]) == ("11812.70", "2010-07-27")
    assert (meta["closing_balance"], meta["closing_date"]) == ("13527.81", "2011-01-11")
    assert meta["movements"] == 5  # sequences 0001-0005; globalisation details not counted
    assert (meta["total_credit"], meta["total_debit"]) == ("3108.19", "1393.08")
    assert (meta["bank_bic"], meta["bank_id"]) == ("KREDBEBB", "725")
    assert meta["holder_enterprise_number"] == "0820512013"
    assert meta["duplicate"] is False and meta["version"] == "2"
    assert len(meta["statements"]) == 1
    # The anonymised sample's new-balance record names another account: worth saying.
    assert reading.warnings == [
        "statement 135: the new balance record names another account than the old one"
    ]


def test_crlf_and_lf_versions_read_the_same() -> None:
    lf, crlf = read_document(sample(ODOO_LF)), read_document(sample(ODOO_CRLF))
    assert b"\r\n" in sample(ODOO_CRLF) and b"\r\n" not in sample(ODOO_LF)
    assert lf == crlf


def test_globalisation_sample_with_details_and_no_final_newline() -> None:
    assert not sample(GLOBALISATION).endswith(b"\n")
    reading = read_document(sample(GLOBALISATION))
    meta = reading.metadata
    assert (reading.number, reading.issue_date) == ("159", "2014-12-10")
    assert meta["opening_balance"] == "-455.17"  # a debit balance
    assert meta["closing_balance"] == "275270.53"
    assert (meta["total_credit"], meta["total_debit"]) == ("276270.00", "544.30")
    assert meta["movements"] == 4
    assert meta["duplicate"] is True  # 'D' at header position 17
    assert meta["creation_date"] == "2015-01-02"


def test_globalisation_without_its_breakdown_is_accepted_with_warnings() -> None:
    reading = read_document(sample(GLOBALISATION_2))
    assert reading.metadata["closing_balance"] == "275270.53"
    assert (
        "statement 159: movement 0003 (line 13, transaction type 3) opens a globalisation "
        "(code 1) but movement 0004 starts before its details close it" in reading.warnings
    )
    # The bank's own trailer is off by the four records left out of this file.
    assert (
        "statement 159: the trailer counts 23 records, the file has 19 (records 1, 2, 3 and 8)"
        in reading.warnings
    )


def test_trailer_count_rule_derived_from_the_samples() -> None:
    """Records 1, 2.x, 3.x and 8 are counted: 22 in the Odoo file, 23 in pycoda's."""
    for name, expected in ((ODOO_LF, 22), (GLOBALISATION, 23)):
        (statement,) = parse_coda(sample(name))
        assert statement.counted_records == statement.trailer_count == expected


def test_a_latin1_byte_that_python_calls_a_line_break_stays_in_its_record() -> None:
    records = lines(ODOO_LF)
    records[2] = put(records[2], 63, b"M\x85DEDELING")  # 0x85 is NEL in latin-1
    reading = read_document(joined(records))
    assert reading.metadata["movements"] == 5


def test_wrong_version_digit() -> None:
    records = lines(ODOO_LF)
    records[0] = put(records[0], 128, b"1")
    assert "version digit (line 1, header record position 128) is '1'" in refused(joined(records))


def test_short_record() -> None:
    records = lines(ODOO_LF)
    records[4] = records[4][:-1]
    assert "CODA line 5 is 127 characters long" in refused(joined(records))


def test_trailer_debit_total_that_does_not_match() -> None:
    records = lines(ODOO_LF)
    records[23] = put(records[23], 23, b"000000001393090")
    message = refused(joined(records))
    assert "announces a debit total of 1393.090 but the movements add up to 1393.080" in message


def test_a_trailer_total_a_tenth_of_a_cent_off_shows_the_field_s_three_decimals() -> None:
    """Rounded to cents, both totals would read 1393.08 and the message would contradict
    itself."""
    records = lines(ODOO_LF)
    records[23] = put(records[23], 23, b"000000001393081")
    message = refused(joined(records))
    assert "announces a debit total of 1393.081 but the movements add up to 1393.080" in message


def test_balance_that_does_not_continue() -> None:
    records = lines(ODOO_LF)
    records[22] = put(records[22], 43, b"000000013527820")  # new balance +0.01
    message = refused(joined(records))
    assert "the new balance is 13527.82 but the old balance 11812.70" in message
    assert "= 13527.81" in message


def test_globalisation_details_that_do_not_add_up() -> None:
    records = lines(ODOO_LF)
    assert records[12].startswith(b"2100030001")
    records[12] = put(records[12], 33, b"000000000419930")  # 419.93 instead of 419.92
    message = refused(joined(records))
    assert "globalised movement 0003 add up to -479.050, not the -479.040" in message


def test_globalisation_closed_without_details_of_a_total() -> None:
    records = lines(ODOO_LF)
    # Movement 0001 becomes a customer total (type 1) opening a globalisation never closed.
    records[2] = put(put(records[2], 54, b"1"), 125, b"1")
    message = refused(joined(records))
    assert "movement 0001 (line 3, transaction type 1) opens a globalisation (code 1)" in message


@pytest.mark.parametrize(
    ("drop", "words"),
    [
        (23, "ends before the trailer (9) record"),
        (22, "record type 9 comes where the"),
        (1, "record type 2 comes where the old balance record is expected"),
    ],
)
def test_missing_records(drop: int, words: str) -> None:
    records = lines(ODOO_LF)
    del records[drop]
    assert words in refused(joined(records))


def test_detail_record_of_another_movement() -> None:
    records = lines(ODOO_LF)
    records[3] = put(records[3], 3, b"0009")  # a 2.2 record claiming movement 0009
    assert "record 2.2 does not follow the movement it belongs to" in refused(joined(records))


def test_bad_sign_and_bad_date() -> None:
    records = lines(ODOO_LF)
    records[1] = put(records[1], 43, b"7")
    assert "CODA uses 0 (credit) or 1 (debit)" in refused(joined(records))
    records = lines(ODOO_LF)
    records[22] = put(records[22], 58, b"320111")
    assert "'320111', which is not a date (DDMMYY)" in refused(joined(records))


def test_unknown_record_type() -> None:
    records = lines(ODOO_LF)
    records[5] = b"7" + records[5][1:]
    assert "record type '7'" in refused(joined(records))


def test_blank_line_inside_is_refused() -> None:
    records = lines(ODOO_LF)
    records.insert(5, b"")
    assert "CODA line 6 is 0 characters long" in refused(joined(records))


def test_two_statements_in_one_file() -> None:
    records = lines(ODOO_LF)
    reading = read_document(joined(records + records))
    assert len(reading.metadata["statements"]) == 2
    assert "the file holds 2 statements; the summary shows the first one" in reading.warnings
