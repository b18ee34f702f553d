"""A demo corpus: for N clients, purchase and sales invoices (PDF + Peppol UBL with the PDF
embedded), a credit note and CODA statements that pay them. Deterministic from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from passeur.domain.documents import Direction, DocumentKind
from passeur.formats.amounts import format_amount
from passeur.formats.corpus.coda_writer import Statement, Transfer, make_coda
from passeur.formats.corpus.invoice_pdf import make_invoice_pdf
from passeur.formats.corpus.invoices import Invoice, make_invoice
from passeur.formats.corpus.parties import Company, make_company
from passeur.formats.corpus.ubl_writer import make_ubl

YEAR = 2025


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    client: int  # 0-based index of the client the file belongs to
    client_enterprise_number: str
    client_name: str
    type: str  # what intake must detect: pdf, ubl, coda
    kind: DocumentKind
    direction: Direction | None
    number: str  # expected document (or statement) number
    issue_date: str  # expected ISO date (statement date for statements)
    total: str  # amount due, or the closing balance for statements; 2 decimals


def generate(
    out_dir: Path, clients: int, seed: int = 0, per_client: int = 4
) -> list[GeneratedFile]:
    """Write the corpus under `out_dir/client-NN/{purchases,sales,statements}/`."""
    rng = random.Random(seed)
    taken: set[str] = set()
    files: list[GeneratedFile] = []
    for index in range(clients):
        client = make_company(rng, taken)
        folder = out_dir / f"client-{index + 1:02d}"
        files += _client_files(rng, taken, index, client, folder, per_client)
    return files


def _client_files(
    rng: random.Random, taken: set[str], index: int, client: Company, folder: Path, count: int
) -> list[GeneratedFile]:
    files: list[GeneratedFile] = []
    invoices: list[tuple[Invoice, Direction]] = []
    for n in range(count):
        direction = Direction.PURCHASE if n % 2 == 0 else Direction.SALES
        other = make_company(rng, taken)
        issued = date(YEAR, 1, 2) + timedelta(days=rng.randint(0, 80))
        if direction is Direction.SALES:
            number = f"V{YEAR}-{index + 1:02d}{n + 1:03d}"
            invoice = make_invoice(rng, number, client, other, issued)
        else:
            number = f"F{rng.randint(100, 999)}-{n + 1:04d}"
            invoice = make_invoice(rng, number, other, client, issued)
        invoices.append((invoice, direction))
    if invoices:
        corrected, direction = invoices[-1]
        note = make_invoice(
            rng,
            f"CN{YEAR}-{index + 1:02d}001",
            corrected.supplier,
            corrected.customer,
            corrected.issue_date + timedelta(days=7),
            credit_note=True,
            billing_reference=corrected.number,
        )
        invoices.append((note, direction))
    for invoice, direction in invoices:
        files += _write_invoice(folder, index, client, invoice, direction)
    files += _write_statements(rng, folder, index, client, invoices)
    return files


def _write_invoice(
    folder: Path, index: int, client: Company, invoice: Invoice, direction: Direction
) -> list[GeneratedFile]:
    sub = folder / ("sales" if direction is Direction.SALES else "purchases")
    sub.mkdir(parents=True, exist_ok=True)
    pdf = make_invoice_pdf(invoice)
    if invoice.credit_note:
        kind = DocumentKind.CREDIT_NOTE
    elif direction is Direction.SALES:
        kind = DocumentKind.SALES_INVOICE
    else:
        kind = DocumentKind.PURCHASE_INVOICE
    written = []
    for suffix, data, file_type in (("pdf", pdf, "pdf"), ("xml", make_ubl(invoice, pdf), "ubl")):
        path = sub / f"{invoice.number}.{suffix}"
        path.write_bytes(data)
        written.append(
            GeneratedFile(
                path=path,
                client=index,
                client_enterprise_number=client.enterprise_number,
                client_name=client.name,
                type=file_type,
                kind=kind,
                direction=direction,
                number=invoice.number,
                issue_date=invoice.issue_date.isoformat(),
                total=format_amount(invoice.total),
            )
        )
    return written


def _write_statements(
    rng: random.Random,
    folder: Path,
    index: int,
    client: Company,
    invoices: list[tuple[Invoice, Direction]],
) -> list[GeneratedFile]:
    """Two consecutive statements paying every invoice; the second opens where the first closed."""
    transfers = sorted(
        (_payment(invoice, direction) for invoice, direction in invoices),
        key=lambda t: t.value_date,
    )
    half = (len(transfers) + 1) // 2
    sub = folder / "statements"
    sub.mkdir(parents=True, exist_ok=True)
    balance = Decimal(rng.randint(2_000_00, 50_000_00)) / 100
    day = date(YEAR, 1, 1)
    first_number = rng.randint(1, 200)
    files = []
    for offset, chunk in enumerate((transfers[:half], transfers[half:])):
        closing_day = max((t.value_date for t in chunk), default=day) + timedelta(days=1)
        statement = Statement(
            client, first_number + offset, closing_day, balance, day, tuple(chunk)
        )
        number = f"{statement.number:03d}"
        path = sub / f"statement-{number}.cod"
        path.write_bytes(make_coda(statement))
        files.append(
            GeneratedFile(
                path=path,
                client=index,
                client_enterprise_number=client.enterprise_number,
                client_name=client.name,
                type="coda",
                kind=DocumentKind.ENRICHED_MOVEMENT_REPORT,
                direction=None,
                number=number,
                issue_date=closing_day.isoformat(),
                total=format_amount(statement.closing_balance),
            )
        )
        balance, day = statement.closing_balance, closing_day
    return files


def _payment(invoice: Invoice, direction: Direction) -> Transfer:
    """Customers pay sales invoices in; the client pays purchases out; credit notes reverse."""
    incoming = (direction is Direction.SALES) != invoice.credit_note
    other = invoice.customer if direction is Direction.SALES else invoice.supplier
    return Transfer(
        amount=invoice.total if incoming else -invoice.total,
        counterparty=other,
        value_date=invoice.due_date - timedelta(days=3),
        structured_reference=invoice.payment_reference,
    )
