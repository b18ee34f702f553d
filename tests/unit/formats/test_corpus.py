"""The demo corpus: every generated file passes intake with the values it was made with."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import coda as febelfin_coda
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from passeur.domain.documents import DocumentKind
from passeur.formats.corpus import (
    Company,
    Line,
    Statement,
    Transfer,
    generate,
    make_coda,
    make_invoice_pdf,
    make_ubl,
)
from passeur.formats.corpus.invoices import Invoice
from passeur.formats.identifiers import enterprise_check_ok, iban_ok
from passeur.formats.inspection import inspect
from passeur.formats.intake import read_document

ALICE = Company(
    "Atelier Peeters SRL",
    "0123456749",
    "Kerkstraat 1",
    "9000",
    "Gent",
    "BE68539007547034",
    "GKCCBEBB",
)
BOB = Company(
    "Bakkerij Maes BV",
    "0417497106",
    "Grote Markt 3",
    "8000",
    "Brugge",
    "BE71096123456769",
    "GEBABEBB",
)


def test_generated_corpus_passes_intake(tmp_path: Path) -> None:
    files = generate(tmp_path, clients=3, seed=11, per_client=4)
    # 4 invoices + 1 credit note, each as PDF and UBL, plus 2 statements: 12 per client.
    assert len(files) == 36
    assert {f.client for f in files} == {0, 1, 2}
    for generated in files:
        reading = read_document(generated.path.read_bytes(), generated.path.name)
        assert reading.type == generated.type
        assert reading.warnings == []
        if generated.type == "pdf":
            text = PdfReader(io.BytesIO(generated.path.read_bytes())).pages[0].extract_text()
            assert generated.number in text and generated.total in text
            continue
        assert (reading.number, reading.issue_date) == (generated.number, generated.issue_date)
        if generated.type == "ubl":
            assert reading.metadata["totals"]["payable"] == generated.total
            assert reading.embedded_pdf == generated.path.with_suffix(".pdf").read_bytes()
            result = inspect(
                generated.path.read_bytes(),
                generated.path.name,
                client_enterprise_number=generated.client_enterprise_number,
            )
            assert result["kind"] == generated.kind.value
            assert result["direction"] == (generated.direction and generated.direction.value)
        else:
            assert reading.metadata["closing_balance"] == generated.total


def test_corpus_contents(tmp_path: Path) -> None:
    files = generate(tmp_path, clients=1, seed=5, per_client=4)
    kinds = [f.kind for f in files if f.type == "ubl"]
    assert kinds.count(DocumentKind.PURCHASE_INVOICE) == 2
    assert kinds.count(DocumentKind.SALES_INVOICE) == 2
    assert kinds.count(DocumentKind.CREDIT_NOTE) == 1
    statements = [read_document(f.path.read_bytes()) for f in files if f.type == "coda"]
    assert len(statements) == 2
    first, second = (s.metadata for s in statements)
    assert second["opening_balance"] == first["closing_balance"]  # consecutive statements
    assert int(second["statement_number"]) == int(first["statement_number"]) + 1
    assert first["movements"] + second["movements"] == 5  # every invoice is paid
    for f in files:
        assert enterprise_check_ok(f.client_enterprise_number)
    ubl = read_document(next(f for f in files if f.type == "ubl").path.read_bytes())
    for role in ("supplier", "customer"):
        assert enterprise_check_ok(ubl.metadata[role]["enterprise_number"])
        assert ubl.metadata[role]["vat"] == "BE" + ubl.metadata[role]["enterprise_number"]
    assert iban_ok(ubl.metadata["payment"]["iban"])


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", clients=2, seed=42)
    second = generate(tmp_path / "b", clients=2, seed=42)
    third = generate(tmp_path / "c", clients=2, seed=43)
    assert [f.path.read_bytes() for f in first] == [f.path.read_bytes() for f in second]
    assert [f.path.read_bytes() for f in first] != [f.path.read_bytes() for f in third]


def test_generated_coda_passes_febelfin_coda_too(tmp_path: Path) -> None:
    """A second, independent reader agrees (febelfin-coda asserts counts and totals)."""
    for generated in generate(tmp_path, clients=2, seed=3):
        if generated.type != "coda":
            continue
        parsed = febelfin_coda.CODA(str(generated.path), encoding="latin-1")
        (statement,) = parsed.statements
        assert f"{statement.new_balance:.2f}" == generated.total


amounts = st.decimals(
    min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2
).filter(lambda d: d != 0)
names = st.text(
    alphabet=st.characters(
        min_codepoint=32, max_codepoint=255, categories=("L", "N", "P", "S", "Zs")
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(
    opening=st.decimals(min_value=Decimal("-50000"), max_value=Decimal("50000"), places=2),
    moves=st.lists(st.tuples(amounts, names), min_size=0, max_size=12),
    number=st.integers(min_value=1, max_value=999),
)
def test_coda_round_trip(opening: Decimal, moves: list[tuple[Decimal, str]], number: int) -> None:
    day = date(2025, 5, 2)
    transfers = tuple(
        Transfer(amount, replace(BOB, name=name), day - timedelta(days=i), communication=name)
        for i, (amount, name) in enumerate(moves)
    )
    statement = Statement(ALICE, number, day, opening, day - timedelta(days=30), transfers)
    reading = read_document(make_coda(statement))
    meta = reading.metadata
    assert reading.warnings == []
    assert (reading.number, reading.issue_date) == (f"{number:03d}", "2025-05-02")
    assert Decimal(meta["opening_balance"]) == opening
    assert Decimal(meta["closing_balance"]) == statement.closing_balance
    assert meta["movements"] == len(moves)
    assert Decimal(meta["total_credit"]) == sum((a for a, _ in moves if a > 0), Decimal(0))
    assert meta["account"] == ALICE.iban and meta["account_holder"] == ALICE.name
    assert meta["holder_enterprise_number"] == ALICE.enterprise_number


lines = st.lists(
    st.builds(
        Line,
        description=st.sampled_from(["Consultancy", "Repair work", "Café & thé", "Bücher"]),
        unit_code=st.just("C62"),
        quantity=st.integers(min_value=1, max_value=500).map(Decimal),
        unit_price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
        vat_rate=st.sampled_from([Decimal(0), Decimal(6), Decimal(12), Decimal(21)]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=30, deadline=None)
@given(lines=lines, credit=st.booleans(), with_pdf=st.booleans())
def test_ubl_round_trip(lines: list[Line], credit: bool, with_pdf: bool) -> None:
    invoice = Invoice(
        number="RT-1",
        issue_date=date(2025, 6, 1),
        due_date=date(2025, 7, 1),
        supplier=ALICE,
        customer=BOB,
        lines=tuple(lines),
        payment_reference="123456789002",
        credit_note=credit,
        billing_reference="RT-0" if credit else None,
    )
    pdf = make_invoice_pdf(invoice) if with_pdf else None
    reading = read_document(make_ubl(invoice, pdf))
    meta = reading.metadata
    assert (reading.number, reading.issue_date, meta["due_date"]) == (
        "RT-1",
        "2025-06-01",
        "2025-07-01",
    )
    assert (reading.kind is DocumentKind.CREDIT_NOTE) is credit
    assert meta["totals"]["tax_exclusive"] == f"{invoice.net_total:.2f}"
    assert meta["totals"]["tax"] == f"{invoice.vat_total:.2f}"
    assert meta["totals"]["payable"] == f"{invoice.total:.2f}"
    assert meta["lines"] == len(lines)
    assert meta["supplier"]["enterprise_number"] == ALICE.enterprise_number
    assert meta["customer"]["vat"] == BOB.vat
    assert reading.embedded_pdf == pdf
    assert reading.warnings == []
