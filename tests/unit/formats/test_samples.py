"""Every shared sample: accepted with the right type, or refused with a useful message."""

from __future__ import annotations

import pytest

from passeur.domain.errors import InvalidInput
from passeur.formats.intake import read_document

from .samples import must_refuse, sample, sample_files

# What intake must do with each file. A new sample file without an entry fails
# test_every_sample_has_an_expectation, so nothing in the folder goes untested.
ACCEPTED = {
    "camt/oca-test-camt053-no-ntry.xml": "camt",
    "camt/oca-test-camt053.xml": "camt",
    "coda/odoo-Ontvangen_CODA.2011-01-11-18.59.15.txt": "coda",
    "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt": "coda",
    "coda/pycoda-Coda_v2_3_globalisation.txt": "coda",
    "coda/pycoda-Coda_v2_3_globalisation_2.txt": "coda",
    "efff/odoo-efff_test.xml": "efff",
    "ubl/cef-ubl-tc434-creditnote1-BE.xml": "ubl",
    "ubl/odoo-BEG-testcase01_minimal_invoice.xml": "ubl",
    "ubl/peppol-NO-Norwegian-example-1.xml": "ubl",
    "ubl/peppol-base-creditnote-correction.xml": "ubl",
    "ubl/peppol-base-example.xml": "ubl",
    "ubl/peppol-base-negative-inv-correction.xml": "ubl",
    "ubl/peppol-vat-category-E.xml": "ubl",
    "ubl/peppol-vat-category-O.xml": "ubl",
    "ubl/peppol-vat-category-Z.xml": "ubl",
}
# Refused files and the words the message must contain (what is wrong, in plain terms).
TEST_SET = ("OpenPeppol validation test set", "<testSet>", "not an invoice")
REFUSED = {
    "coda/pycoda-Coda_faulty_version.INVALID.txt": ("version digit", "'5'", "version 2"),
    "coda/pycoda-Coda_v2_3_faulty_globalisation.INVALID.txt": (
        "movement 0003",
        "globalisation (code 1)",
        "inconsistent",
    ),
    "invalid/odoo-BEG-testcase05_cash_discount.placeholder.xml": (
        "AdditionalDocumentReference",
        "___ignore___",
        "not schema-valid",
    ),
    "invalid/peppol-unit-PEPPOL-COMMON-R040.xml": (*TEST_SET, "PEPPOL-COMMON-R040"),
    "invalid/peppol-unit-PEPPOL-EN16931-CL001.xml": (*TEST_SET, "PEPPOL-EN16931-CL001"),
    "invalid/peppol-unit-PEPPOL-EN16931-R001.xml": (*TEST_SET, "PEPPOL-EN16931-R001"),
    "invalid/peppol-unit-PEPPOL-EN16931-R003.xml": (*TEST_SET, "4 invoice fragments"),
    "invalid/peppol-unit-PEPPOL-EN16931-R053.xml": (*TEST_SET, "PEPPOL-EN16931-R053"),
    "invalid/peppol-unit-PEPPOL-EN16931-R120.xml": (*TEST_SET, "11 invoice fragments"),
}


def test_every_sample_has_an_expectation() -> None:
    assert sorted([*ACCEPTED, *REFUSED]) == sample_files()


def test_refused_files_are_exactly_the_invalid_ones() -> None:
    assert sorted(REFUSED) == [name for name in sample_files() if must_refuse(name)]


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_valid_sample_is_read_with_its_type(name: str) -> None:
    reading = read_document(sample(name), name.rsplit("/", 1)[-1])
    assert reading.type == ACCEPTED[name]
    assert reading.number
    assert len(reading.issue_date) == 10 and reading.issue_date[4] == "-"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_invalid_sample_is_refused_with_a_useful_message(name: str) -> None:
    filename = name.rsplit("/", 1)[-1]
    with pytest.raises(InvalidInput) as refused:
        read_document(sample(name), filename)
    message = str(refused.value)
    assert message.startswith(f"{filename}: ")
    for words in REFUSED[name]:
        assert words in message
