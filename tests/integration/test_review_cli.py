"""`passeur documents mark-reviewed` and `documents inspect --json` (in process, SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from passeur.bootstrap import App
from passeur.cli.main import app as cli
from passeur.domain.documents import DocumentKind
from passeur.services import documents, intake
from tests.factories import firm


def test_mark_reviewed_from_the_command_line(
    sqlite_app: App, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = sqlite_app.settings
    monkeypatch.setenv("PASSEUR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PASSEUR_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("PASSEUR_SECRET_KEYS", settings.secret_keys.get_secret_value())
    f = firm(sqlite_app, n_clients=1)
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    doc = intake.upload(
        sqlite_app,
        f.partner_id,
        f.clients[0].id,
        "b.xml",
        broken,
        kind=DocumentKind.PURCHASE_INVOICE,
    )
    done = CliRunner().invoke(cli, ["documents", "mark-reviewed", str(doc.id)])
    assert done.exit_code == 0, done.output
    assert "reviewed: accounting software may book it now" in done.output
    assert not documents.get(sqlite_app, f.partner_id, doc.id).awaiting_review
    again = CliRunner().invoke(cli, ["documents", "mark-reviewed", str(doc.id)])
    assert again.exit_code != 0 and "already reviewed" in again.output


def test_inspect_shows_legal_and_trading_names_and_totals_that_do_not_add_up(
    shared_data: Path, tmp_path: Path
) -> None:
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = tmp_path / "broken.xml"
    broken.write_bytes(
        good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    )
    shown = CliRunner().invoke(cli, ["documents", "inspect", "--json", str(broken)])
    result = json.loads(shown.output)
    assert result["supplier"]["name"] == "SupplierOfficialName Ltd"
    assert result["supplier"]["trading_name"] == "SupplierTradingName Ltd."
    assert any("do not add up (BR-CO-16)" in w for w in result["warnings"])
    text = CliRunner().invoke(cli, ["documents", "inspect", str(broken)]).output
    assert "supplier: SupplierOfficialName Ltd, trading as SupplierTradingName Ltd." in text
