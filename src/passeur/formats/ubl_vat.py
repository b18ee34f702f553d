"""A UBL invoice's VAT breakdown (EN 16931 BG-23: one part per VAT category and rate),
what an accounting entry books line by line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from passeur.formats.ubl_names import find, findall, text
from passeur.formats.xml import parse_xml


@dataclass(frozen=True)
class VatPart:
    rate: Decimal  # percent, e.g. 21
    base: Decimal  # taxable amount (BT-116)
    vat: Decimal  # VAT amount (BT-117)


def vat_breakdown(ubl: bytes) -> list[VatPart]:
    """The document-level TaxSubtotals in the document currency; [] when there are none
    or one cannot be read (the caller then books nothing itself)."""
    root = parse_xml(ubl)
    parts = []
    for total in findall(root, "cac:TaxTotal"):
        for sub in findall(total, "cac:TaxSubtotal"):
            category = find(sub, "cac:TaxCategory")
            try:
                parts.append(
                    VatPart(
                        Decimal(text(category, "cbc:Percent") or "0"),
                        Decimal(text(sub, "cbc:TaxableAmount")),
                        Decimal(text(sub, "cbc:TaxAmount")),
                    )
                )
            except InvalidOperation:
                return []
    return parts
