"""Partners (accounting firms), their users and roles, and the clients they serve."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from passeur.domain.errors import InvalidInput
from passeur.domain.names import check_name


class Role(StrEnum):
    ADMINISTRATOR = "administrator"  # installs extensions, manages users and billing
    CLIENT_MANAGER = "client_manager"  # manages clients, sees no documents
    ACCOUNTANT = "accountant"  # full access to the documents of assigned clients
    BUSINESS = "business"  # a person of one client business, not of the partner space


PARTNER_ROLES = frozenset({Role.ADMINISTRATOR, Role.CLIENT_MANAGER, Role.ACCOUNTANT})


# The languages of the UI (and of a user's choice); "" lets the browser decide.
LOCALES = ("en", "fr", "nl")


def check_locale(locale: str, *, allow_empty: bool = False) -> None:
    if locale not in LOCALES and not (allow_empty and locale == ""):
        raise InvalidInput(f"language must be one of: {', '.join(LOCALES)}", field="locale")


class Access(StrEnum):
    EDIT = "edit"
    VIEW = "view"


class ClientStatus(StrEnum):
    DRAFT = "draft"
    INVITED = "invited"
    ACTIVE = "active"
    ARCHIVED = "archived"


CLIENT_TRANSITIONS: dict[ClientStatus, set[ClientStatus]] = {
    ClientStatus.DRAFT: {ClientStatus.INVITED, ClientStatus.ACTIVE, ClientStatus.ARCHIVED},
    ClientStatus.INVITED: {ClientStatus.ACTIVE, ClientStatus.ARCHIVED, ClientStatus.INVITED},
    ClientStatus.ACTIVE: {ClientStatus.ARCHIVED},
    ClientStatus.ARCHIVED: set(),  # archiving cannot be undone: invite again as a new client
}


@dataclass(frozen=True)
class Partner:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    """A person who signs in: of the partner space (roles), or of one client (business)."""

    id: int
    partner_id: int
    email: str
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    client_id: int | None = None  # business users only: the client they belong to
    locale: str = ""  # the language they chose; "" lets the browser decide

    @property
    def is_business(self) -> bool:
        return Role.BUSINESS in self.roles


def check_roles(roles: frozenset[Role], client_id: int | None) -> None:
    """A partner-space user has partner roles and no client; a business user has one client."""
    if not roles:
        raise InvalidInput("a user needs at least one role", field="roles")
    if Role.BUSINESS in roles:
        if roles != {Role.BUSINESS}:
            raise InvalidInput(
                "a business user cannot also have a partner-space role", field="roles"
            )
        if client_id is None:
            raise InvalidInput("a business user belongs to one client: say which")
    elif client_id is not None:
        raise InvalidInput(
            "only business users belong to a client; assign partner-space users to clients"
        )


@dataclass(frozen=True)
class Client:
    id: int
    partner_id: int
    name: str
    uen_number: str
    vat_number: str
    external_ref: str
    status: ClientStatus
    created_at: datetime
    # The contact of an imported client (product.md §1.2); "" when not given.
    country: str = ""  # ISO 3166-1 alpha-2
    contact_email: str = ""
    contact_first_name: str = ""
    contact_last_name: str = ""
    contact_locale: str = ""  # e.g. fr-BE


_ENTERPRISE_NUMBER = re.compile(r"^[01]\d{9}$")
_BE_VAT = re.compile(r"^BE[01]\d{9}$")
_EXTERNAL_REF = re.compile(r"^[A-Za-z0-9._-]{0,40}$")


def normalise_enterprise_number(raw: str) -> str:
    """A Belgian enterprise (KBO/BCE) number as 10 digits, dots and spaces removed."""
    digits = re.sub(r"[\s.]", "", raw or "")
    if digits.upper().startswith("BE"):
        digits = digits[2:]
    if len(digits) == 9:
        digits = "0" + digits
    if not digits:
        return ""
    if not _ENTERPRISE_NUMBER.match(digits) or not _mod97_ok(digits):
        raise InvalidInput(
            f"enterprise number {raw!r} is not a valid 10-digit KBO/BCE number", field="uen_number"
        )
    return digits


def normalise_vat_number(raw: str) -> str:
    """A VAT number without spaces or dots, upper case; Belgian numbers are checked (mod 97)."""
    compact = re.sub(r"[\s.\-]", "", raw or "").upper()
    if not compact:
        return ""
    if compact.startswith("BE"):
        if not _BE_VAT.match(compact) or not _mod97_ok(compact[2:]):
            raise InvalidInput(
                f"VAT number {raw!r} is not a valid Belgian VAT number", field="vat_number"
            )
    elif not re.match(r"^[A-Z]{2}[A-Z0-9]{2,13}$", compact):
        raise InvalidInput(
            f"VAT number {raw!r} must start with a country code, e.g. BE0123456749",
            field="vat_number",
        )
    return compact


def validate_client_name(raw: str) -> str:
    name = (raw or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("a client needs a name of 1 to 200 characters", field="name")
    return check_name(name, "a client's name")


def validate_external_ref(raw: str) -> str:
    ref = (raw or "").strip()
    if not _EXTERNAL_REF.match(ref):
        raise InvalidInput(
            "external reference may hold letters, digits, '.', '_' and '-' (at most 40)",
            field="external_ref",
        )
    return ref


_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTACT_LOCALE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")


def validate_country(raw: str) -> str:
    country = (raw or "").strip().upper()
    if not _COUNTRY.match(country):
        raise InvalidInput(f"country {raw!r} is not a two-letter code such as BE", field="country")
    return country


def validate_contact_locale(raw: str) -> str:
    """A language and region such as fr-BE (fr_be and FR-be are read the same)."""
    text = (raw or "").strip().replace("_", "-")
    locale = text[:2].lower() + text[2:3] + text[3:].upper()
    if not _CONTACT_LOCALE.match(locale):
        raise InvalidInput(
            f"contact locale {raw!r} is not a language and region such as fr-BE",
            field="contact_locale",
        )
    return locale


def validate_person_name(raw: str, field: str) -> str:
    name = (raw or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("a name needs 1 to 100 characters", field=field)
    return name


def _mod97_ok(ten_digits: str) -> bool:
    base, check = int(ten_digits[:8]), int(ten_digits[8:])
    return 97 - base % 97 == check
