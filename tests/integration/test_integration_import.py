"""Bulk activation from a CSV file: a verdict per row in a preview that saves nothing;
confirming adds every valid row in one transaction; a file we cannot read as the table
is refused whole and changes nothing. On both databases."""

from __future__ import annotations

import pytest

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.partners import ClientStatus
from passeur.domain.templates import Verdict
from passeur.services import clients, installations, integration_import, integrations
from passeur.storage.db import transaction
from passeur.storage.repositories import partners as partner_rows
from tests.factories import firm
from tests.integration.test_access import refused, snapshot
from tests.integration.test_integrations_ui_services import offline_sftp

HEADER = "Client reference (client),Upload path (upload_path)\n"


def many_clients(app: App, partner_id: int, n: int) -> None:
    with transaction(app.engine) as conn:
        for i in range(n):
            partner_rows.add_client(
                conn, partner_id, name=f"Bulk {i}", external_ref=f"B{i:05d}", status="active"
            )


def test_preview_judges_every_row_and_confirm_adds_the_valid_ones_at_once(app: App) -> None:
    f = firm(app, n_clients=3)  # C000, C001, C002 with enterprise numbers
    pid, sftp = f.partner_id, offline_sftp(app, f.partner_id)
    integrations.add(app, pid, f.clients[2].id, sftp, {})
    clients.change_status(app, pid, f.clients[1].id, ClientStatus.ARCHIVED)
    nameless = clients.create_client(app, pid, "No number", external_ref="N1", template=None)
    text = HEADER + (
        "C000,/in/[uen_number]\n"
        "0202.239.951,/x\n"  # C001, by its enterprise number: archived
        "C002,/y\n"  # already has it
        "NOPE,/z\n"
        "c000,/again\n"  # the same client as line 2, whatever the case
        "N1,/in/[uen_number]\n"  # no enterprise number to fill in
        "\n"
        ",,\n"  # blank rows are left out
    )
    before = snapshot(app)
    plan = integration_import.preview(app, pid, sftp, text.encode())
    assert snapshot(app) == before
    assert [(r.line, r.verdict) for r in plan.rows] == [
        (2, Verdict.ADD),
        (3, Verdict.REFUSED),
        (4, Verdict.ALREADY),
        (5, Verdict.UNKNOWN_CLIENT),
        (6, Verdict.DUPLICATE),
        (7, Verdict.REFUSED),
    ]
    assert "archived" in plan.rows[1].reason
    assert "already on line 2" in plan.rows[4].reason
    assert "[uen_number]" in plan.rows[5].reason and plan.rows[5].field == "upload_path"

    done = integration_import.confirm(app, pid, sftp, text.encode())
    assert len(done.to_add) == 1
    added = integrations.list_integrations(app, pid, f.clients[0].id)
    assert [i.config for i in added] == [{"upload_path": "/in/[uen_number]"}]
    assert integrations.list_integrations(app, pid, nameless.id) == []
    again = integration_import.preview(app, pid, sftp, text.encode())
    assert again.rows[0].verdict is Verdict.ALREADY


def test_excel_files_bom_semicolons_windows_1252_and_an_invalid_field(app: App) -> None:
    f = firm(app, n_clients=2)
    pid, sftp = f.partner_id, offline_sftp(app, f.partner_id)
    text = "Référence client (client);Port (port);Chemin de dépôt (upload_path)\r\n"
    text += "C000;2222;/dossier/achats\r\nC001;http;\r\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("cp1252")):
        plan = integration_import.preview(app, pid, sftp, data)
        assert [r.verdict for r in plan.rows] == [Verdict.ADD, Verdict.REFUSED], plan.rows
        assert plan.rows[0].values == {"port": 2222, "upload_path": "/dossier/achats"}
        assert plan.rows[1].field == "port" and "whole number" in plan.rows[1].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Client,Colour\nC000,red\n", "unknown column 'Colour'"),
        ("Upload path\n/x\n", "no Client reference"),
        ("client,client\nC000,C000\n", "appears twice"),
        ("", "the file is empty"),
        ('client,upload_path\n"C000,/x\n', "not a readable CSV"),
    ],
)
def test_a_file_that_is_not_the_table_is_refused_whole(app: App, text: str, message: str) -> None:
    f = firm(app, n_clients=1)
    pid, sftp = f.partner_id, offline_sftp(app, f.partner_id)
    refused(app, lambda: integration_import.confirm(app, pid, sftp, text), InvalidInput, message)


def test_a_switched_off_installation_takes_no_file(app: App) -> None:
    f = firm(app, n_clients=1)
    pid, sftp = f.partner_id, offline_sftp(app, f.partner_id)
    installations.set_active(app, pid, sftp, False)
    refused(app, lambda: integration_import.confirm(app, pid, sftp, HEADER), Conflict)


def test_five_hundred_clients_from_one_file_and_ten_thousand_rows_at_most(app: App) -> None:
    f = firm(app, n_clients=0)
    pid, sftp = f.partner_id, offline_sftp(app, f.partner_id)
    many_clients(app, pid, 500)
    text = HEADER + "".join(f"B{i:05d},/in/{i}\n" for i in range(500))
    done = integration_import.confirm(app, pid, sftp, text)
    assert done.counts == {Verdict.ADD: 500}
    assert len(integrations.list_integrations(app, pid)) == 500

    full = HEADER + "".join(f"X{i},/x\n" for i in range(10_000))
    plan = integration_import.preview(app, pid, sftp, full)
    assert plan.counts == {Verdict.UNKNOWN_CLIENT: 10_000}
    refused(
        app,
        lambda: integration_import.confirm(app, pid, sftp, full + "X,/x\n"),
        InvalidInput,
        "more than 10,000 rows",
    )
