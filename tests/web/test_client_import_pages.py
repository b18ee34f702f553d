"""Clients → Import clients: the template workbook in the visitor's language, an upload,
the preview, the import; a bad file is refused on the page and changes nothing."""

from __future__ import annotations

import html
import io
import re

from openpyxl import load_workbook

from passeur.bootstrap import App
from passeur.domain.partners import Role
from passeur.services import clients
from tests.factories import firm
from tests.integration.test_client_import import ROWS, xlsx
from tests.web.browsing import signed_in, web_user
from tests.web.practice import snapshot


def test_template_upload_preview_and_import(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    browser = signed_in(sqlite_app, "cm@firm.be", **{"Accept-Language": "nl"})
    assert 'href="/clients/import"' in browser.get("/clients").text
    template = browser.get("/clients/import/template.xlsx")
    sheet = load_workbook(io.BytesIO(template.content)).active
    assert sheet is not None
    assert sheet["A1"].value == "Juridische naam (name)"

    page = browser.get("/clients/import")
    assert page.status_code == 200
    before = snapshot(sqlite_app)
    files = {"file": ("clients.xlsx", xlsx(ROWS), "application/octet-stream")}
    shown = browser.client.post("/clients/import", data={"csrf_token": browser.csrf}, files=files)
    assert shown.status_code == 200 and "1 klant zou toegevoegd worden" in shown.text
    assert snapshot(sqlite_app) == before
    content = re.search(r'name="content" value="([^"]*)"', shown.text)
    assert content is not None
    done = browser.post("/clients/import/confirm", {"content": html.unescape(content.group(1))})
    assert done.status_code == 200 and "1 klant geïmporteerd" in done.text
    assert "Bakkerij Peeters" in [c.name for c in clients.list_clients(sqlite_app, f.partner_id)]


def test_a_bad_file_is_refused_on_the_page(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=0)
    web_user(sqlite_app, f.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    web_user(sqlite_app, f.partner_id, "acc@firm.be", Role.ACCOUNTANT)
    browser = signed_in(sqlite_app, "cm@firm.be")
    browser.get("/clients/import")
    before = snapshot(sqlite_app)
    files = {"file": ("x.csv", b"Colour\nred\n", "text/csv")}
    refused = browser.client.post("/clients/import", data={"csrf_token": browser.csrf}, files=files)
    assert refused.status_code == 400 and "unknown column" in refused.text
    assert snapshot(sqlite_app) == before
    accountant = signed_in(sqlite_app, "acc@firm.be")
    assert accountant.get("/clients/import").status_code == 404
