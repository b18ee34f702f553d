"""Settings → Audit trail, a client's Audit tab and an integration's audit page: what a
person changed from the browser shows with their name and address; CSV downloads;
administrators only; in French and Dutch too."""

from __future__ import annotations

import csv
import io

from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.domain.partners import Access, Role
from passeur.services import installations, integrations
from tests.factories import firm
from tests.web.browsing import signed_in, web_user


def test_a_change_made_in_the_browser_is_on_every_audit_page(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    client = f.clients[0]
    secret = new_secret()
    values = {"base_url": "https://in.example", "signing_secret": secret}
    inst = installations.install(app, f.partner_id, "http", "Endpoint", values)
    integ = integrations.add(app, f.partner_id, client.id, inst.id, {})
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    admin = signed_in(app, "admin@firm.be")

    paused = admin.post(f"/integrations/{integ.id}/pause")
    assert paused.status_code == 200

    page = admin.get(f"/integrations/{integ.id}/audit")
    assert page.status_code == 200
    assert "integration.pause" in page.text and "user admin@firm.be" in page.text
    assert "testclient" in page.text  # the address the request came from
    assert "integration.create" in page.text and "Command line" in page.text
    tab = admin.get(f"/clients/{client.id}/audit")
    assert "integration.pause" in tab.text and "client.create" in tab.text
    other = admin.get(f"/clients/{f.clients[1].id}/audit")
    assert "integration.pause" not in other.text
    firm_page = admin.get("/settings/audit")
    assert 'href="/settings/audit" aria-current="page"' in firm_page.text
    assert "installation.create" in firm_page.text and secret not in firm_page.text

    download = admin.get(f"/integrations/{integ.id}/audit.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["action"] for r in rows] == ["integration.create", "integration.pause"]
    assert rows[1]["origin"] == "testclient" and rows[1]["actor"] == "user admin@firm.be"
    assert secret not in admin.get("/settings/audit.csv").text


def test_only_administrators_see_the_trail_and_it_speaks_their_language(
    sqlite_app: App,
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    client = f.clients[0]
    web_user(app, f.partner_id, "acc@firm.be", Role.ACCOUNTANT, assign={client.id: Access.EDIT})
    accountant = signed_in(app, "acc@firm.be")
    assert "/settings/audit" not in accountant.get("/").text
    assert "/audit" not in accountant.get(f"/clients/{client.id}/team").text
    for url in ("/settings/audit", f"/clients/{client.id}/audit", "/settings/audit.csv"):
        assert accountant.get(url).status_code == 404, url  # what one may not see

    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    for lang, words, added in (
        ("en", "Audit trail", "Client added"),
        ("fr", "Journal d'audit", "Client ajouté"),
        ("nl", "Audittrail", "Klant toegevoegd"),
    ):
        admin = signed_in(app, "admin@firm.be", **{"Accept-Language": lang})
        page = admin.get(f"/clients/{client.id}/audit").text.replace("&#39;", "'")
        assert words in page, lang
        assert added in page, lang  # what happened, in words; its code beside it
        assert "<code>client.create</code>" in page, lang


def test_a_creation_lists_what_was_set_and_no_empty_value_as_removed(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    admin = signed_in(app, "admin@firm.be")
    page = admin.get(f"/clients/{f.clients[0].id}/audit").text
    assert "client.create" in page and "uen_number" in page
    assert "removed" not in page, "an empty value at creation is no removal"
    assert "null" not in page
