"""Belgian identifiers: enterprise (KBO/BCE) numbers, VAT numbers, IBANs, structured references.

All use the same modulo-97 rule: an enterprise number is 10 digits whose last two are
97 - (first eight mod 97); the VAT number is the same ten digits after `BE`.
"""

from __future__ import annotations

import re

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_BE_VAT = re.compile(r"^BE([01]?\d{9})$")


def enterprise_check_ok(number: str) -> bool:
    """True for a 10-digit enterprise number starting with 0 or 1 with valid check digits."""
    if len(number) != 10 or not number.isdigit() or number[0] not in "01":
        return False
    return int(number[8:]) == 97 - int(number[:8]) % 97


def with_check_digits(first_eight: str) -> str:
    """Complete eight digits into a valid enterprise number."""
    return f"{first_eight}{97 - int(first_eight) % 97:02d}"


def normalize_vat(value: str) -> str:
    """`be 0123.456.749` → `BE0123456749`: upper case, separators removed."""
    return _NOT_ALNUM.sub("", value).upper()


def enterprise_number(value: str) -> str | None:
    """The 10-digit enterprise number in `value` (`0123.456.749`, `123456749`, `BE0123456749`).

    Old numbers were written with 9 digits, before the leading 0 was added; None if `value`
    does not hold a Belgian number.
    """
    cleaned = normalize_vat(value)
    if cleaned.startswith("BE"):
        cleaned = cleaned[2:]
    if not cleaned.isdigit() or len(cleaned) not in (9, 10):
        return None
    return cleaned.zfill(10)


def belgian_vat(value: str) -> str | None:
    """`BE` + 10 digits if `value` is a Belgian VAT number (with or without the prefix)."""
    match = _BE_VAT.match(normalize_vat(value))
    return f"BE{match.group(1).zfill(10)}" if match else None


def iban_ok(iban: str) -> bool:
    """ISO 13616 check: the rearranged number modulo 97 is 1."""
    cleaned = normalize_vat(iban)
    if len(cleaned) < 15 or not cleaned[:2].isalpha() or not cleaned[2:4].isdigit():
        return False
    rearranged = cleaned[4:] + cleaned[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def belgian_iban(bank_and_account: str) -> str:
    """A Belgian IBAN from the first 10 digits of the account (3 bank + 7 account)."""
    check = int(bank_and_account) % 97 or 97
    bban = f"{bank_and_account}{check:02d}"
    digits = "".join(str(int(c, 36)) for c in bban + "BE00")
    return f"BE{98 - int(digits) % 97:02d}{bban}"


def structured_reference(ten_digits: str) -> str:
    """A Belgian structured communication (OGM/VCS): 12 digits, the last two mod 97."""
    check = int(ten_digits) % 97 or 97
    return f"{ten_digits}{check:02d}"


def format_structured_reference(twelve_digits: str) -> str:
    """`123456789002` → `+++123/4567/89002+++`, the way people write it."""
    d = twelve_digits
    return f"+++{d[:3]}/{d[3:7]}/{d[7:]}+++"
