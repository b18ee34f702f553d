"""An installation's "Add to clients from a file": the template file in the visitor's
language, the preview with a verdict per row, confirm adds the valid rows; a bad file is
refused on the page and nothing is saved."""

from __future__ import annotations

import html
import re

from passeur.bootstrap import App
from passeur.domain.partners import Role
from passeur.services import integrations
from tests.factories import firm
from tests.integration.test_integrations_ui_services import offline_sftp
from tests.web.browsing import signed_in, web_user
from tests.web.practice import snapshot


def test_template_preview_and_confirm(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=2)
    pid, sftp = f.partner_id, offline_sftp(sqlite_app, f.partner_id)
    web_user(sqlite_app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "admin@firm.be", **{"Accept-Language": "fr"})
    page = browser.get(f"/installations/{sftp}").text
    assert f'href="/installations/{sftp}/import"' in page
    template = browser.get(f"/installations/{sftp}/import/template.csv")
    assert template.headers["content-type"].startswith("text/csv")
    assert template.text.startswith("\ufeffRéférence client (client);")
    assert "(upload_path)" in template.text

    before = snapshot(sqlite_app)
    header = template.text.lstrip("\ufeff").strip()
    keys = re.findall(r"\((\w+)\)", header)

    def row(reference: str, path: str) -> str:
        return ";".join(
            reference if k == "client" else path if k == "upload_path" else "" for k in keys
        )

    body = f"{header}\r\n{row('C000', '/in/a')}\r\n{row('C001', '/in/../b')}\r\nZZZ\r\n"
    files = {"file": ("clients.csv", body.encode(), "text/csv")}
    shown = browser.client.post(
        f"/installations/{sftp}/import", data={"csrf_token": browser.csrf}, files=files
    )
    assert shown.status_code == 200, shown.text[:400]
    assert snapshot(sqlite_app) == before
    assert "Serait ajoutée" in shown.text and "Client inconnu" in shown.text
    assert "Champ non valide" in shown.text
    content = re.search(r'name="content" value="([^"]*)"', shown.text, re.S)
    assert content is not None
    done = browser.post(
        f"/installations/{sftp}/import/confirm", {"content": html.unescape(content.group(1))}
    )
    assert done.status_code == 200
    assert [i.config for i in integrations.list_integrations(sqlite_app, pid)] == [
        {"upload_path": "/in/a"}
    ]


def test_a_file_that_is_not_the_table_is_refused_on_the_page(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    pid, sftp = f.partner_id, offline_sftp(sqlite_app, f.partner_id)
    web_user(sqlite_app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "admin@firm.be")
    browser.get(f"/installations/{sftp}/import")
    before = snapshot(sqlite_app)
    files = {"file": ("x.csv", b"Colour\nred\n", "text/csv")}
    refused = browser.client.post(
        f"/installations/{sftp}/import", data={"csrf_token": browser.csrf}, files=files
    )
    assert refused.status_code == 400 and "unknown column" in refused.text
    assert snapshot(sqlite_app) == before


def test_only_administrators_add_from_a_file(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    pid, sftp = f.partner_id, offline_sftp(sqlite_app, f.partner_id)
    web_user(sqlite_app, pid, "cm@firm.be", Role.CLIENT_MANAGER)
    manager = signed_in(sqlite_app, "cm@firm.be")
    assert manager.get(f"/installations/{sftp}/import").status_code == 404
    assert manager.get(f"/installations/{sftp}/import/template.csv").status_code == 404
    before = snapshot(sqlite_app)
    sent = manager.post(
        f"/installations/{sftp}/import/confirm", {"content": "client,upload_path\nC000,/x\n"}
    )
    assert sent.status_code == 403
    assert snapshot(sqlite_app) == before


def test_ten_thousand_rows_get_a_verdict_each_and_one_more_is_refused(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    pid, sftp = f.partner_id, offline_sftp(sqlite_app, f.partner_id)
    web_user(sqlite_app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "admin@firm.be")
    browser.get(f"/installations/{sftp}/import")
    rows = "".join(f"X{i};/in\n" for i in range(10_000))
    for extra, status, text in [
        ("", 200, "10000 unknown clients"),
        ("Y;/in\n", 400, "more than 10,000 rows"),
    ]:
        body = ("client;upload_path\n" + rows + extra).encode()
        files = {"file": ("big.csv", body, "text/csv")}
        shown = browser.client.post(
            f"/installations/{sftp}/import", data={"csrf_token": browser.csrf}, files=files
        )
        assert shown.status_code == status and text in shown.text
    assert (
        "and 9500 more rows"
        in browser.client.post(
            f"/installations/{sftp}/import",
            data={"csrf_token": browser.csrf},
            files={"file": ("big.csv", ("client;upload_path\n" + rows).encode(), "text/csv")},
        ).text
    )
