"""A readable PDF of an invoice made from its UBL data, for an e-fff file whose sender
embedded none (e-fff requires the visual representation).

Deterministic: the same data gives the same bytes (fixed creation date), so a redelivery
sends an identical file. The PDF says it was rendered by passeur from the XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF

FIXED_CREATION = datetime(2000, 1, 1, tzinfo=UTC)
# The core fonts are Latin-1; other characters are replaced rather than refused.
_ENCODING = "latin-1"


@dataclass(frozen=True)
class Line:
    description: str
    quantity: str
    amount: str


def render_invoice(metadata: dict[str, Any], lines: Sequence[Line]) -> bytes:
    """A one- or few-page A4 PDF from intake's UBL metadata and the invoice lines."""
    credit = metadata.get("document_type") == "credit_note"
    label = "Credit note" if credit else "Invoice"
    number = metadata.get("number") or ""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_CREATION)
    pdf.set_producer("passeur")
    pdf.set_title(_latin(f"{label} {number}"))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    _row(pdf, f"{label} {number}", height=10)
    pdf.set_font("Helvetica", size=10)
    _row(pdf, f"Date: {metadata.get('issue_date') or ''}")
    if metadata.get("due_date"):
        _row(pdf, f"Due date: {metadata['due_date']}")
    pdf.ln(3)
    for role, key in (("Supplier", "supplier"), ("Customer", "customer")):
        _party(pdf, role, metadata.get(key) or {})
    _lines(pdf, lines)
    _totals(pdf, metadata)
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(
        0,
        4,
        "Rendered by passeur from the structured (UBL) invoice, which carried no PDF. "
        "The XML data is the source.",
    )
    return bytes(pdf.output())


def _row(pdf: FPDF, text: str, *, height: float = 6) -> None:
    pdf.cell(0, height, _latin(text), new_x="LMARGIN", new_y="NEXT")


def _party(pdf: FPDF, role: str, party: dict[str, Any]) -> None:
    pdf.set_font("Helvetica", "B", 10)
    _row(pdf, role)
    pdf.set_font("Helvetica", size=10)
    _row(pdf, party.get("name") or "(not given)")
    if party.get("trading_name") and party.get("trading_name") != party.get("name"):
        _row(pdf, f"Trading as {party['trading_name']}")
    for label, key in (("VAT", "vat"), ("Enterprise number", "enterprise_number")):
        if party.get(key):
            _row(pdf, f"{label} {party[key]}")
    pdf.ln(2)


def _lines(pdf: FPDF, lines: Sequence[Line]) -> None:
    widths = (120, 25, 35)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(widths, ("Description", "Quantity", "Amount"), strict=True):
        pdf.cell(width, 7, title, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in lines:
        cells = (line.description[:70], line.quantity, line.amount)
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 6, _latin(text))
        pdf.ln()


def _totals(pdf: FPDF, metadata: dict[str, Any]) -> None:
    totals = metadata.get("totals") or {}
    currency = metadata.get("currency") or ""
    pdf.ln(3)
    rows = (
        ("Total excl. VAT", totals.get("tax_exclusive")),
        ("VAT", totals.get("tax")),
        (f"Amount due ({currency})", totals.get("payable")),
    )
    for title, amount in rows:
        if amount is None:
            continue
        pdf.set_font("Helvetica", "B" if title.startswith("Amount due") else "", 10)
        pdf.cell(145, 6, _latin(title), align="R")
        pdf.cell(35, 6, _latin(str(amount)), align="R", new_x="LMARGIN", new_y="NEXT")


def _latin(text: str) -> str:
    return text.encode(_ENCODING, errors="replace").decode(_ENCODING)
