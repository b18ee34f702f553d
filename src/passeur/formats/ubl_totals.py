"""Do a UBL invoice's totals add up? The EN 16931 calculation rules BR-CO-10 to BR-CO-16.

EN 16931's own validation (the CEN schematron) rounds each computed sum to the cent and
compares it with the stated amount exactly: that is the tolerance here too. A sum of
line amounts that each carry 3 decimals may thus differ by less than half a cent, and
nothing more. A rule whose stated amount is absent is not checked (older e-fff files
leave some out); absent allowances, charges, prepaid and rounding amounts count as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from passeur.domain.errors import InvalidInput
from passeur.formats.amounts import CENT, format_amount, parse_amount
from passeur.formats.ubl_names import find, findall, text


@dataclass(frozen=True)
class Mismatch:
    rule: str  # e.g. "BR-CO-10"
    message: str  # in words, for the accountant

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


def check_totals(root: etree._Element, currency: str | None) -> list[Mismatch]:
    """The EN 16931 sum rules the document breaks (empty when its totals add up)."""
    total = find(root, "cac:LegalMonetaryTotal")
    if total is None:
        return []
    stated = {name: _amount(total, f"cbc:{name}") for name in _TOTALS}
    found: list[Mismatch] = []

    def rule(code: str, name: str, computed: Decimal, what: str) -> None:
        expected = stated[name]
        if expected is None:
            return
        rounded = computed.quantize(CENT, rounding=ROUND_HALF_UP)
        if rounded != expected.quantize(CENT, rounding=ROUND_HALF_UP):
            found.append(
                Mismatch(
                    code,
                    f"the totals do not add up ({code}): {what} {format_amount(rounded)}, "
                    f"but the {_WORDS[name]} says {format_amount(expected)}",
                )
            )

    lines = findall(root, "cac:InvoiceLine") + findall(root, "cac:CreditNoteLine")
    rule(
        "BR-CO-10",
        "LineExtensionAmount",
        _sum(lines, "cbc:LineExtensionAmount"),
        "the lines add up to",
    )
    allowances, charges = _allowances_and_charges(root)
    rule(
        "BR-CO-11",
        "AllowanceTotalAmount",
        _sum(allowances, "cbc:Amount"),
        "the allowances add up to",
    )
    rule("BR-CO-12", "ChargeTotalAmount", _sum(charges, "cbc:Amount"), "the charges add up to")
    line_total = stated["LineExtensionAmount"]
    if line_total is not None:
        net = (
            line_total - _zero(stated["AllowanceTotalAmount"]) + _zero(stated["ChargeTotalAmount"])
        )
        rule(
            "BR-CO-13",
            "TaxExclusiveAmount",
            net,
            "the line total less allowances plus charges comes to",
        )
    tax = _document_tax(root, currency, found)
    tax_exclusive = stated["TaxExclusiveAmount"]
    if tax_exclusive is not None:
        rule(
            "BR-CO-15",
            "TaxInclusiveAmount",
            tax_exclusive + _zero(tax),
            "the total without VAT plus the VAT comes to",
        )
    tax_inclusive = stated["TaxInclusiveAmount"]
    if tax_inclusive is not None:
        payable = (
            tax_inclusive - _zero(stated["PrepaidAmount"]) + _zero(stated["PayableRoundingAmount"])
        )
        rule(
            "BR-CO-16",
            "PayableAmount",
            payable,
            "the total with VAT less prepaid plus rounding comes to",
        )
    return found


_TOTALS = (
    "LineExtensionAmount",
    "AllowanceTotalAmount",
    "ChargeTotalAmount",
    "TaxExclusiveAmount",
    "TaxInclusiveAmount",
    "PrepaidAmount",
    "PayableRoundingAmount",
    "PayableAmount",
)
_WORDS = {
    "LineExtensionAmount": "line total (LineExtensionAmount)",
    "AllowanceTotalAmount": "allowance total (AllowanceTotalAmount)",
    "ChargeTotalAmount": "charge total (ChargeTotalAmount)",
    "TaxExclusiveAmount": "total without VAT (TaxExclusiveAmount)",
    "TaxInclusiveAmount": "total with VAT (TaxInclusiveAmount)",
    "PayableAmount": "amount due (PayableAmount)",
    "TaxAmount": "VAT total (TaxTotal/TaxAmount)",
}


def _document_tax(
    root: etree._Element, currency: str | None, found: list[Mismatch]
) -> Decimal | None:
    """The VAT total in the document currency (BT-110), checked against its breakdown
    (BR-CO-14). A second TaxTotal in the tax currency (BT-111) has no breakdown."""
    totals = findall(root, "cac:TaxTotal")
    in_currency = [t for t in totals if _currency_of(t) == currency]
    if not totals:
        return None
    chosen = (in_currency or totals)[0]
    tax = _amount(chosen, "cbc:TaxAmount")
    subtotals = findall(chosen, "cac:TaxSubtotal")
    if tax is not None and subtotals:
        computed = _sum(subtotals, "cbc:TaxAmount").quantize(CENT, rounding=ROUND_HALF_UP)
        if computed != tax.quantize(CENT, rounding=ROUND_HALF_UP):
            found.append(
                Mismatch(
                    "BR-CO-14",
                    f"the totals do not add up (BR-CO-14): the VAT per rate adds up to "
                    f"{format_amount(computed)}, but the {_WORDS['TaxAmount']} says "
                    f"{format_amount(tax)}",
                )
            )
    return tax


def _currency_of(tax_total: etree._Element) -> str:
    amount = find(tax_total, "cbc:TaxAmount")
    return amount.get("currencyID", "") if amount is not None else ""


def _allowances_and_charges(
    root: etree._Element,
) -> tuple[list[etree._Element], list[etree._Element]]:
    """Document-level AllowanceCharge elements (not the lines' or prices' own)."""
    allowances: list[etree._Element] = []
    charges: list[etree._Element] = []
    for element in findall(root, "cac:AllowanceCharge"):
        indicator = text(element, "cbc:ChargeIndicator").lower()
        (charges if indicator == "true" else allowances).append(element)
    return allowances, charges


def _sum(elements: list[etree._Element], path: str) -> Decimal:
    return sum((_zero(_amount(e, path)) for e in elements), Decimal(0))


def _amount(element: etree._Element, path: str) -> Decimal | None:
    value = text(element, path)
    if not value:
        return None
    try:
        return parse_amount(value, path)
    except InvalidInput:  # not an amount: it counts as none
        return None


def _zero(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal(0)
