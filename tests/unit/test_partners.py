import pytest

from passeur.domain.errors import InvalidInput
from passeur.domain.partners import (
    Role,
    check_roles,
    normalise_enterprise_number,
    normalise_vat_number,
    validate_external_ref,
)


def test_enterprise_numbers_are_normalised_and_checked() -> None:
    assert normalise_enterprise_number("0403.170.701") == "0403170701"
    assert normalise_enterprise_number("BE 0403 170 701") == "0403170701"
    assert normalise_enterprise_number("403170701") == "0403170701"
    with pytest.raises(InvalidInput, match="not a valid"):
        normalise_enterprise_number("0403170702")


def test_vat_numbers() -> None:
    assert normalise_vat_number("be 0403.170.701") == "BE0403170701"
    assert normalise_vat_number("NL123456789B01") == "NL123456789B01"
    with pytest.raises(InvalidInput):
        normalise_vat_number("BE0403170702")
    with pytest.raises(InvalidInput, match="country code"):
        normalise_vat_number("12345")


def test_external_reference_is_safe() -> None:
    assert validate_external_ref(" C-042 ") == "C-042"
    with pytest.raises(InvalidInput):
        validate_external_ref("../../x")


def test_a_user_is_of_the_partner_space_or_of_one_client() -> None:
    check_roles(frozenset({Role.ACCOUNTANT, Role.CLIENT_MANAGER}), None)
    check_roles(frozenset({Role.BUSINESS}), 7)
    with pytest.raises(InvalidInput, match="at least one role"):
        check_roles(frozenset(), None)
    with pytest.raises(InvalidInput, match="belongs to one client"):
        check_roles(frozenset({Role.BUSINESS}), None)
    with pytest.raises(InvalidInput, match="cannot also have a partner-space role"):
        check_roles(frozenset({Role.BUSINESS, Role.ACCOUNTANT}), 7)
    with pytest.raises(InvalidInput, match="only business users belong to a client"):
        check_roles(frozenset({Role.ACCOUNTANT}), 7)
