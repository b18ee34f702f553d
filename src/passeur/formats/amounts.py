"""Money amounts: parsed as Decimal (never float) and shown with two decimals (three for
a CODA field, which has three)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from passeur.domain.errors import InvalidInput

CENT = Decimal("0.01")
# xs:decimal: sign, digits, optional fraction; no exponent, no NaN. 18 integer digits is
# far beyond any invoice and keeps Decimal arithmetic exact.
_DECIMAL = re.compile(r"^[+-]?(\d{1,18}(\.\d*)?|\.\d+)$")


def parse_amount(text: str | None, what: str) -> Decimal:
    """A decimal amount as written in XML (`1656.25`, `-25`, `1325`); refuse anything else."""
    cleaned = (text or "").strip()
    if not _DECIMAL.match(cleaned) or len(cleaned) > 40:
        raise InvalidInput(f"{what} is {cleaned[:40]!r}, which is not an amount")
    return Decimal(cleaned)


def format_amount(value: Decimal) -> str:
    """Two decimals, no thousands separator: '1656.25', '-25.00'."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(rounded if rounded != 0 else abs(rounded))  # never "-0.00"


def format_coda_amount(value: Decimal) -> str:
    """Three decimals, as a CODA amount field holds them: '3108.190', '-0.001'. Two would
    make two totals a tenth of a cent apart read the same."""
    return str(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def fixed_amount(digits: str, what: str) -> Decimal:
    """A CODA amount: 15 digits whose last three are decimals, no separator."""
    if len(digits) != 15 or not digits.isdigit():
        raise InvalidInput(f"{what} is {digits!r}; CODA amounts are 15 digits")
    return Decimal(digits) / 1000
