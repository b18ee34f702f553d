"""Invoices as PDF (fpdf2): real text a person (and a PDF text extractor) can read."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from fpdf import FPDF

from passeur.formats.corpus.invoices import Invoice
from passeur.formats.corpus.parties import Company
from passeur.formats.identifiers import format_structured_reference

# A fixed date keeps generated files byte-for-byte reproducible (fpdf2 hashes it into /ID).
FIXED_CREATION = datetime(2025, 1, 1, tzinfo=UTC)


def _new_pdf(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_CREATION)
    pdf.set_producer("passeur demo corpus")
    pdf.set_title(title)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    return pdf


def make_invoice_pdf(invoice: Invoice) -> bytes:
    """An A4 invoice or credit note with parties, lines, VAT per rate and totals."""
    label = "CREDIT NOTE" if invoice.credit_note else "INVOICE"
    pdf = _new_pdf(f"{label.title()} {invoice.number}")
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, f"{label} {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, f"Date: {invoice.issue_date.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Due date: {invoice.due_date.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    if invoice.billing_reference:
        pdf.cell(
            0, 6, f"Corrects invoice: {invoice.billing_reference}", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(4)
    top = pdf.get_y()
    _party_block(pdf, "Supplier", invoice.supplier, x=10, y=top)
    _party_block(pdf, "Customer", invoice.customer, x=110, y=top)
    pdf.set_xy(10, top + 36)
    _lines_table(pdf, invoice)
    _totals(pdf, invoice)
    pdf.ln(6)
    pdf.set_font("Helvetica", size=9)
    reference = format_structured_reference(invoice.payment_reference)
    pdf.multi_cell(
        0,
        5,
        f"Please pay {invoice.total} {invoice.currency} to {invoice.supplier.iban} "
        f"(BIC {invoice.supplier.bic}) with the reference {reference}.",
    )
    return bytes(pdf.output())


def _party_block(pdf: FPDF, role: str, company: Company, x: float, y: float) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(90, 5, role, new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for text in (
        company.name,
        company.street,
        f"{company.postal_zone} {company.city}",
        f"VAT {company.vat}",
        f"Enterprise number {company.enterprise_number}",
    ):
        pdf.cell(90, 5, text, new_x="LEFT", new_y="NEXT")


def _lines_table(pdf: FPDF, invoice: Invoice) -> None:
    widths = (80, 20, 30, 20, 30)
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(
        widths, ("Description", "Qty", "Unit price", "VAT %", "Amount"), strict=True
    ):
        pdf.cell(width, 7, title, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in invoice.lines:
        cells = (
            line.description,
            str(line.quantity),
            str(line.unit_price),
            str(line.vat_rate),
            str(line.net),
        )
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 7, text)
        pdf.ln()


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(3)
    rows: list[tuple[str, Decimal]] = [("Total excl. VAT", invoice.net_total)]
    rows += [(f"VAT {rate}% on {base}", vat) for rate, base, vat in invoice.vat_breakdown()]
    rows.append((f"Total to pay ({invoice.currency})", invoice.total))
    for title, amount in rows:
        pdf.set_font("Helvetica", "B" if title.startswith("Total to pay") else "", 10)
        pdf.cell(150, 6, title, align="R")
        pdf.cell(30, 6, str(amount), align="R", new_x="LMARGIN", new_y="NEXT")


def make_padded_pdf(size: int, seed: int = 0) -> bytes:
    """A valid one-page PDF of about `size` bytes (within a few KB), for benchmarks.

    The bulk is an uncompressed attachment of random bytes: it cannot shrink, and it costs
    nothing to generate, unlike thousands of pages of text.
    """
    pdf = _new_pdf("Padded benchmark document")
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 6, f"Benchmark PDF of about {size} bytes (seed {seed}).")
    overhead = len(bytes(_new_pdf("x").output())) + 1500
    padding = max(0, size - overhead)
    if padding:
        data = random.Random(seed).randbytes(padding)
        pdf.embed_file(
            bytes=data, basename="padding.bin", modification_date=FIXED_CREATION, compress=False
        )
    return bytes(pdf.output())
