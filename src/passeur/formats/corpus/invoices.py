"""Invoice and credit note contents: lines, VAT per rate and totals, computed exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from passeur.formats.corpus.parties import Company
from passeur.formats.identifiers import structured_reference

CENT = Decimal("0.01")
ITEMS = (
    ("Consultancy (hours)", "HUR", (45, 120)),
    ("Office supplies", "C62", (3, 60)),
    ("Printing of brochures", "C62", (1, 4)),
    ("Delivery and transport", "C62", (15, 90)),
    ("Software subscription (month)", "MON", (19, 99)),
    ("Maintenance visit", "C62", (60, 250)),
    ("Catering for meeting", "C62", (8, 35)),
    ("Repair work (hours)", "HUR", (40, 75)),
    ("Books and documentation", "C62", (10, 45)),
    ("Cleaning service", "C62", (80, 300)),
)
VAT_RATES = (Decimal("21"), Decimal("21"), Decimal("21"), Decimal("12"), Decimal("6"))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    description: str
    unit_code: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal  # percent

    @property
    def net(self) -> Decimal:
        return cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Invoice:
    number: str
    issue_date: date
    due_date: date
    supplier: Company
    customer: Company
    lines: tuple[Line, ...]
    payment_reference: str  # 12-digit Belgian structured communication
    credit_note: bool = False
    billing_reference: str | None = None  # the invoice a credit note corrects
    currency: str = "EUR"

    @property
    def net_total(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))

    def vat_breakdown(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """(rate, taxable amount, VAT) per rate, highest rate first; VAT rounded per rate."""
        taxable: dict[Decimal, Decimal] = {}
        for line in self.lines:
            taxable[line.vat_rate] = taxable.get(line.vat_rate, Decimal(0)) + line.net
        return [
            (rate, base, cents(base * rate / 100)) for rate, base in sorted(taxable.items())[::-1]
        ]

    @property
    def vat_total(self) -> Decimal:
        return sum((vat for _, _, vat in self.vat_breakdown()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.net_total + self.vat_total


def make_lines(rng: random.Random, count: int) -> tuple[Line, ...]:
    lines = []
    for description, unit, (low, high) in rng.sample(ITEMS, count):
        quantity = Decimal(rng.randint(1, 12))
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        lines.append(Line(description, unit, quantity, price, rng.choice(VAT_RATES)))
    return tuple(lines)


def make_invoice(
    rng: random.Random,
    number: str,
    supplier: Company,
    customer: Company,
    issue_date: date,
    *,
    credit_note: bool = False,
    billing_reference: str | None = None,
) -> Invoice:
    lines = make_lines(rng, 1 if credit_note else rng.randint(1, 4))
    return Invoice(
        number=number,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=30),
        supplier=supplier,
        customer=customer,
        lines=lines,
        payment_reference=structured_reference(f"{rng.randint(0, 9_999_999_999):010d}"),
        credit_note=credit_note,
        billing_reference=billing_reference,
    )
