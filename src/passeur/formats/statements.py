"""What CODA and CAMT.053 statements have in common, in one shape with stable keys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from passeur.formats.amounts import format_amount


@dataclass(frozen=True)
class StatementSummary:
    account: str  # IBAN (or the bank's own account number when no IBAN is given)
    account_holder: str
    currency: str
    statement_number: str
    statement_date: str  # ISO; the date of the new (closing) balance
    opening_balance: Decimal
    opening_date: str
    closing_balance: Decimal
    closing_date: str
    movements: int  # booked movements (globalised details not counted twice)
    total_credit: Decimal
    total_debit: Decimal
    bank_bic: str
    bank_id: str

    def expected_closing(self) -> Decimal:
        return self.opening_balance + self.total_credit - self.total_debit

    def continuity_problem(self) -> str | None:
        """A sentence if opening + credits - debits is not the closing balance."""
        expected = self.expected_closing()
        if expected == self.closing_balance:
            return None
        return (
            f"statement {self.statement_number}: the new balance is "
            f"{format_amount(self.closing_balance)} but the old balance "
            f"{format_amount(self.opening_balance)} + credits {format_amount(self.total_credit)}"
            f" - debits {format_amount(self.total_debit)} = {format_amount(expected)}"
        )

    def metadata(self) -> dict[str, Any]:
        """JSON-friendly, the same keys for CODA and CAMT.053."""
        return {
            "account": self.account or None,
            "account_holder": self.account_holder or None,
            "currency": self.currency or None,
            "statement_number": self.statement_number or None,
            "statement_date": self.statement_date or None,
            "opening_balance": format_amount(self.opening_balance),
            "opening_date": self.opening_date or None,
            "closing_balance": format_amount(self.closing_balance),
            "closing_date": self.closing_date or None,
            "movements": self.movements,
            "total_credit": format_amount(self.total_credit),
            "total_debit": format_amount(self.total_debit),
            "bank_bic": self.bank_bic or None,
            "bank_id": self.bank_id or None,
        }
