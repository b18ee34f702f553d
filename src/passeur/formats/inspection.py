"""`passeur documents inspect --json`: what a file is and what it would give an export.

The result is plain JSON with stable keys, whether the file is accepted or refused. Whether
an invoice is a purchase or a sale depends on whose books it is in: pass the client's VAT or
enterprise number and the direction follows when the client is the supplier or customer.
"""

from __future__ import annotations

from typing import Any

from passeur.domain.documents import Direction, DocumentKind, family_of
from passeur.domain.errors import InvalidInput
from passeur.formats.identifiers import belgian_vat, enterprise_number, normalize_vat
from passeur.formats.intake import DEFAULT_MAX_BYTES, read_document
from passeur.formats.reading import Reading

INVOICE_TYPES = ("ubl", "efff")
KEYS = (
    "file",
    "type",
    "kind",
    "direction",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "supplier",
    "customer",
    "has_pdf",
    "account",
    "variables",
    "warnings",
    "errors",
)


def inspect(
    data: bytes,
    filename: str,
    *,
    client_vat: str | None = None,
    client_enterprise_number: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Read `data` and describe it; a refusal fills `errors` instead of raising."""
    result: dict[str, Any] = dict.fromkeys(KEYS)
    result.update(file=filename, has_pdf=False, warnings=[], errors=[])
    result["variables"] = _variables(None, None, "", "")
    try:
        reading = read_document(data, max_bytes=max_bytes)
    except InvalidInput as exc:
        result["errors"] = [str(exc)]
        return result
    kind, direction, warnings = kind_and_direction(
        reading, client_vat=client_vat, client_enterprise_number=client_enterprise_number
    )
    metadata = reading.metadata
    result.update(
        type=reading.type,
        kind=kind.value if kind else None,
        direction=direction.value if direction else None,
        number=reading.number or None,
        issue_date=reading.issue_date or None,
        has_pdf=reading.type == "pdf" or reading.embedded_pdf is not None,
        warnings=[*reading.warnings, *warnings],
    )
    if reading.type in INVOICE_TYPES:
        result.update(
            due_date=metadata["due_date"],
            currency=metadata["currency"],
            total=metadata["totals"]["payable"],
            supplier=_party(metadata["supplier"]),
            customer=_party(metadata["customer"]),
        )
    elif reading.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT:
        result.update(currency=metadata["currency"], account=_account(metadata))
    result["variables"] = _variables(kind, direction, reading.issue_date, reading.number)
    return result


def kind_and_direction(
    reading: Reading,
    *,
    client_vat: str | None = None,
    client_enterprise_number: str | None = None,
) -> tuple[DocumentKind | None, Direction | None, list[str]]:
    """Purchase or sale: the client is the customer of a purchase, the supplier of a sale."""
    client = _identities(client_vat, client_enterprise_number)
    if reading.type not in INVOICE_TYPES:
        return reading.kind, None, []
    if not client:
        return reading.kind, None, []
    supplier = _identities(
        reading.metadata["supplier"]["vat"], reading.metadata["supplier"]["enterprise_number"]
    )
    customer = _identities(
        reading.metadata["customer"]["vat"], reading.metadata["customer"]["enterprise_number"]
    )
    is_supplier, is_customer = bool(client & supplier), bool(client & customer)
    if is_supplier == is_customer:
        reason = (
            "is both supplier and customer" if is_supplier else "is neither supplier nor customer"
        )
        return reading.kind, None, [f"the client {reason}; purchase or sale cannot be decided"]
    direction = Direction.SALES if is_supplier else Direction.PURCHASE
    if reading.kind is DocumentKind.CREDIT_NOTE:
        return reading.kind, direction, []
    kind = DocumentKind.SALES_INVOICE if is_supplier else DocumentKind.PURCHASE_INVOICE
    return kind, direction, []


def _identities(vat: str | None, number: str | None) -> set[str]:
    """Comparable forms: a Belgian VAT number and enterprise number share their ten digits,
    so both become `BE` + ten digits; anything else is compared as written (normalised)."""
    found: set[str] = set()
    for value in (vat, number):
        cleaned = normalize_vat(value or "")
        if not cleaned:
            continue
        digits = enterprise_number(cleaned) if cleaned.isdigit() else None
        found.add(belgian_vat(cleaned) or (f"BE{digits}" if digits else cleaned))
    return found


def _party(party: dict[str, Any]) -> dict[str, Any]:
    """The legal name (BT-27 / BT-44) and, apart, the trading name (BT-28 / BT-45)."""
    return {key: party.get(key) for key in ("name", "trading_name", "vat", "enterprise_number")}


def _account(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": metadata["account"],
        "holder": metadata["account_holder"],
        "bank": metadata["bank_bic"] or metadata["bank_id"],
        "statement_number": metadata["statement_number"],
        "opening_balance": metadata["opening_balance"],
        "closing_balance": metadata["closing_balance"],
        "movements": metadata["movements"],
    }


def _variables(
    kind: DocumentKind | None, direction: Direction | None, issue_date: str, number: str
) -> dict[str, Any]:
    """The path-template variables this document fills (see domain.paths.VARIABLES)."""
    invoice_type = family_of(kind, direction).invoice_type if kind else None
    if kind is DocumentKind.CREDIT_NOTE and direction is None:
        invoice_type = None  # purchases or sales: unknown without the client
    return {
        "invoice_type": invoice_type,
        "year": issue_date[:4] or None,
        "month": issue_date[5:7] or None,
        "document_number": number or None,
    }
