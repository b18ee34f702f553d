"""Import clients from a CSV or an Excel file: a verdict per row first, then the valid
rows added as draft clients in one transaction; a bad file changes nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from passeur.bootstrap import App
from passeur.domain.errors import InvalidInput
from passeur.domain.partners import ClientStatus
from passeur.domain.templates import Verdict
from passeur.services import client_import, clients
from tests.factories import firm
from tests.integration.test_access import refused, snapshot

HEADER = [
    "Legal name",
    "Country",
    "Contact e-mail",
    "Contact first name",
    "Contact last name",
    "Contact locale",
    "Enterprise number",
    "VAT number",
    "External reference",
]
ROWS = [
    ["Bakkerij Peeters", "be", "an@peeters.be", "An", "Peeters", "nl_be", "0202.239.951", "", "P1"],
    ["Old Co", "BE", "x@old.be", "X", "Old", "fr-BE", "0403170701", "", ""],  # exists
    ["Bad Mail", "BE", "not-a-mail", "B", "M", "fr-BE", "", "", "B1"],
    ["Twin", "BE", "t@t.be", "T", "T", "fr-BE", "", "", "p1"],  # the same reference as line 2
    ["No Country", "", "n@c.be", "N", "C", "fr-BE", "", "", ""],
]


def xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)  # type: ignore[union-attr]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(rows: list[list[str]]) -> str:
    return "\n".join(";".join(r) for r in [HEADER, *rows]) + "\n"


@pytest.mark.parametrize("make", [xlsx, csv_text], ids=["xlsx", "csv"])
def test_preview_then_confirm_adds_the_valid_rows_as_drafts(app: App, make) -> None:  # type: ignore[no-untyped-def]
    f = firm(app, n_clients=1)  # Client 0, enterprise number 0403170701
    pid = f.partner_id
    data = make(ROWS)
    before = snapshot(app)
    plan = client_import.preview(app, pid, data)
    assert snapshot(app) == before
    assert [(r.line, r.verdict) for r in plan.rows] == [
        (2, Verdict.ADD),
        (3, Verdict.ALREADY),
        (4, Verdict.REFUSED),
        (5, Verdict.DUPLICATE),
        (6, Verdict.REFUSED),
    ]
    assert plan.rows[2].field == "contact_email" and plan.rows[4].field == "country"
    client_import.confirm(app, pid, data)
    added = next(c for c in clients.list_clients(app, pid) if c.name == "Bakkerij Peeters")
    assert (added.status, added.country, added.contact_locale, added.uen_number) == (
        ClientStatus.DRAFT, "BE", "nl-BE", "0202239951",
    )  # fmt: skip
    assert added.contact_email == "an@peeters.be" and added.external_ref == "P1"
    assert client_import.preview(app, pid, data).rows[0].verdict is Verdict.ALREADY


def test_a_file_without_the_mandatory_columns_is_refused_whole(app: App) -> None:
    f = firm(app, n_clients=0)
    refused(
        app,
        lambda: client_import.confirm(app, f.partner_id, "Legal name\nX\n"),
        InvalidInput,
        r"no Country \(country\) column",
    )
    refused(
        app,
        lambda: client_import.confirm(app, f.partner_id, b"PK\x03\x04 not really a workbook"),
        InvalidInput,
        "not a readable Excel workbook",
    )
