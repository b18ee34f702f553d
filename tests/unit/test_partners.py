import pytest

from passeur.domain.errors import InvalidInput
from passeur.domain.partners import (
    Role,
    User,
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


def test_roles() -> None:
    admin = User(1, 1, "a@f.be", "A", frozenset({Role.ADMINISTRATOR}))
    manager = User(2, 1, "m@f.be", "M", frozenset({Role.CLIENT_MANAGER}))
    accountant = User(3, 1, "c@f.be", "C", frozenset({Role.ACCOUNTANT}))
    assert admin.can_manage_integrations() and not accountant.can_manage_integrations()
    assert manager.can_manage_clients() and not manager.can_see_documents()
    assert accountant.can_see_documents() and not accountant.can_manage_clients()
