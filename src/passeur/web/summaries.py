"""What a document's row shows from its metadata: the other party, the amount, its dates.

Metadata is what intake read (formats/ubl.py, formats/statements.py): keys may be missing
or None, and nothing here fails on a document that has little to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from passeur.domain.documents import Document, Family


@dataclass(frozen=True)
class Summary:
    issue_date: date | None
    party: str  # the other side for an invoice, the account for a statement
    amount: Decimal | None  # the amount due, or a statement's new balance
    currency: str


def summary(document: Document) -> Summary:
    meta = document.metadata
    currency = str(meta.get("currency") or "")
    if document.family is Family.STATEMENTS:
        return Summary(
            day(document.issue_date),
            str(meta.get("account") or ""),
            money(meta.get("closing_balance")),
            currency,
        )
    other = "customer" if document.family is Family.SALES else "supplier"
    party = (meta.get(other) or {}) if isinstance(meta.get(other), dict) else {}
    totals = meta.get("totals") if isinstance(meta.get("totals"), dict) else {}
    return Summary(
        day(document.issue_date),
        str(party.get("name") or party.get("legal_name") or ""),
        money((totals or {}).get("payable")),
        currency,
    )


def day(value: Any) -> date | None:
    """An ISO date from metadata, or None."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
