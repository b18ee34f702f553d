"""Belgian identifiers: modulo 97 everywhere, checked on known numbers and by property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from passeur.formats.identifiers import (
    belgian_iban,
    belgian_vat,
    enterprise_check_ok,
    enterprise_number,
    format_structured_reference,
    iban_ok,
    structured_reference,
    with_check_digits,
)

EIGHT_DIGITS = st.integers(min_value=0, max_value=19_999_999).map(lambda n: f"{n:08d}")


def test_known_numbers() -> None:
    assert enterprise_check_ok("0123456749")
    assert not enterprise_check_ok("0123456789")
    assert not enterprise_check_ok("2123456749")  # only 0 and 1 start a number
    assert enterprise_number("0123.456.749") == "0123456749"
    assert enterprise_number("123456749") == "0123456749"  # the old 9-digit form
    assert enterprise_number("BE 0123 456 749") == "0123456749"
    assert enterprise_number("GB983294") is None
    assert belgian_vat("be0123.456.749") == "BE0123456749"
    assert belgian_vat("0123456749") is None  # needs the BE prefix
    assert iban_ok("BE68539007547034") and not iban_ok("BE68539007547035")
    assert format_structured_reference("123456789002") == "+++123/4567/89002+++"


@given(EIGHT_DIGITS)
def test_completed_numbers_check(first_eight: str) -> None:
    number = with_check_digits(first_eight)
    assert enterprise_check_ok(number)
    assert belgian_vat(f"BE{number}") == f"BE{number}"


@given(EIGHT_DIGITS, st.integers(min_value=0, max_value=7), st.integers(min_value=1, max_value=9))
def test_one_wrong_digit_is_caught(first_eight: str, position: int, delta: int) -> None:
    number = with_check_digits(first_eight)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert not enterprise_check_ok(changed)


@given(st.integers(min_value=0, max_value=9_999_999_999))
def test_generated_ibans_and_references_are_valid(ten: int) -> None:
    assert iban_ok(belgian_iban(f"{ten:010d}"))
    reference = structured_reference(f"{ten:010d}")
    assert int(reference[10:]) == (int(reference[:10]) % 97 or 97)
