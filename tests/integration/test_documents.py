"""Uploading documents: a refused file stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from passeur.bootstrap import App
from passeur.domain.documents import Direction, DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.services import intake
from passeur.storage.db import reading
from passeur.storage.tables import documents as documents_table
from tests.factories import firm


def stored(app: App) -> tuple[int, int]:
    with reading(app.engine) as conn:
        count = conn.execute(select(func.count()).select_from(documents_table)).scalar_one()
    blobs = app.settings.data_dir / "blobs"
    files = [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []
    return int(count), len(files)


@pytest.mark.parametrize(
    "name, data",
    [
        (
            "evil.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        ),
        ("notes.txt", b"just some text"),
        ("broken.xml", b"<Invoice><unclosed>"),
    ],
)
def test_a_refused_file_stores_nothing(app: App, name: str, data: bytes) -> None:
    f = firm(app, n_clients=1)
    with pytest.raises(InvalidInput):
        intake.upload(
            app, f.partner_id, f.clients[0].id, name, data, kind=DocumentKind.PURCHASE_INVOICE
        )
    assert stored(app) == (0, 0)


def test_the_type_comes_from_the_content(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    coda = (shared_data / "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt").read_bytes()
    doc = intake.upload(app, f.partner_id, f.clients[0].id, "invoice.pdf", coda)
    assert doc.kind is DocumentKind.ENRICHED_MOVEMENT_REPORT and doc.extension == "cod"
    with pytest.raises(InvalidInput, match="an enriched movement report, not a purchase"):
        intake.upload(
            app, f.partner_id, f.clients[0].id, "x.txt", coda, kind=DocumentKind.PURCHASE_INVOICE
        )


def test_a_credit_note_needs_its_side(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    data = (shared_data / "ubl/peppol-base-creditnote-correction.xml").read_bytes()
    with pytest.raises(InvalidInput, match="purchase or a sales credit note"):
        intake.upload(app, f.partner_id, f.clients[0].id, "cn.xml", data)
    doc = intake.upload(
        app, f.partner_id, f.clients[0].id, "cn.xml", data, direction=Direction.SALES
    )
    assert doc.kind is DocumentKind.CREDIT_NOTE and doc.family.value == "sales"
