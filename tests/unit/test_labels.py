"""Every state and kind the UI can show has its own words, whatever enum it comes from."""

from __future__ import annotations

from enum import Enum

import pytest

from passeur.domain.documents import AccountingStatus, DocumentKind, Family, Lifecycle
from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.web import labels

SHOWN: list[type[Enum]] = [
    AccountingStatus, DocumentKind, Family, Lifecycle, ErrorClass, ExportState,
    IntegrationStatus, Access, ClientStatus, Role,
]  # fmt: skip


@pytest.mark.parametrize("enum", SHOWN, ids=lambda e: e.__name__)
def test_every_member_has_a_label(enum: type[Enum]) -> None:
    for member in enum:
        assert labels.label(member), member


def test_members_with_the_same_value_keep_their_own_words() -> None:
    # StrEnum members of two enums with one value are equal; a dict keyed by them would
    # give one of them the other's label.
    assert DocumentKind.OTHER == Family.OTHER
    assert labels.label(DocumentKind.OTHER) == "Other document"
    assert labels.label(Family.OTHER) == "Other documents"
