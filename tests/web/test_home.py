"""Home: what needs attention, for each role, each line a link to where it is fixed."""

from __future__ import annotations

from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, Role
from tests.factories import firm
from tests.web.browsing import signed_in, web_user
from tests.web.practice import practice, set_export, set_integration

SCRIPT = "<script>alert(1)</script>"


def test_an_administrator_sees_what_needs_attention_with_links(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    p = practice(app, shared_data, n_clients=2)
    set_integration(
        app,
        p.integrations[1],
        status=IntegrationStatus.NEEDS_ATTENTION.value,
        status_reason=f"sign-in refused {SCRIPT}",
    )
    set_export(app, p.exports[0], state="failed", last_error="550 no such folder")
    web_user(app, p.partner_id, "admin@firm.be", Role.ADMINISTRATOR)

    page = signed_in(app, "admin@firm.be").get("/")

    assert page.status_code == 200
    text = page.text
    assert "Integrations that need attention" in text
    assert f'<a href="/clients/{p.clients[1]}/integrations">Client 1</a>' in text
    assert "sign-in refused &lt;script&gt;alert(1)&lt;/script&gt;" in text and SCRIPT not in text
    assert "1 failed export" in text and 'href="/exports?state=failed"' in text
    assert f'href="/exports/{p.exports[0]}"' in text and "550 no such folder" in text
    assert f'href="/exports/{p.exports[1]}"' in text, "the oldest export on its way"
    assert "0 exports delivered today" in text
    assert "2 clients" in text


def test_an_accountant_sees_their_clients_only(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    p = practice(app, shared_data, n_clients=2)
    for export_id in p.exports:
        set_export(app, export_id, state="failed", last_error=f"error of {export_id}")
    web_user(app, p.partner_id, "ada@firm.be", Role.ACCOUNTANT, assign={p.clients[0]: Access.VIEW})
    web_user(app, p.partner_id, "new@firm.be", Role.ACCOUNTANT)

    text = signed_in(app, "ada@firm.be").get("/").text
    assert "1 failed export" in text
    assert f"error of {p.exports[0]}" in text and f"error of {p.exports[1]}" not in text
    newcomer = signed_in(app, "new@firm.be").get("/")
    assert newcomer.status_code == 200 and "You see no client yet" in newcomer.text


def test_a_client_manager_gets_a_home_without_exports(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    p = practice(app, shared_data, n_clients=2)
    set_export(app, p.exports[0], state="failed")
    web_user(app, p.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)

    page = signed_in(app, "cm@firm.be").get("/")

    assert page.status_code == 200
    assert "2 clients" in page.text
    assert "failed export" not in page.text and "Integrations that need attention" not in page.text


def test_a_business_user_is_sent_to_their_business_space(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    p = practice(app, shared_data, n_clients=1)
    web_user(app, p.partner_id, "biz@client.be", Role.BUSINESS, client_id=p.clients[0])
    page = signed_in(app, "biz@client.be").get("/")
    assert page.url.path == "/business"
    assert page.status_code == 200


def test_home_in_french_and_dutch(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    p = practice(app, shared_data, n_clients=1)
    set_export(app, p.exports[0], state="failed")
    web_user(app, p.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(app, "admin@firm.be")
    browser.post("/language", {"locale": "fr", "next": "/"})
    assert "1 export en échec" in browser.get("/").text
    browser.post("/language", {"locale": "nl", "next": "/"})
    assert "1 mislukte export" in browser.get("/").text


def test_a_new_firm_is_invited_to_add_its_first_client(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=0)
    web_user(sqlite_app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    page = signed_in(sqlite_app, "admin@firm.be").get("/")
    assert page.status_code == 200
    assert "add your first client" in page.text and "You see no client yet" not in page.text
    assert "Every integration is working." in page.text and "No export has failed." in page.text
