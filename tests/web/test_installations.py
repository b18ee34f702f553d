"""Installed extensions ("Manage"): test connection and trusting the host key, editing
with write-only secrets, the Active toggle's confirmation, the clients using one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.exports import ExportState
from passeur.domain.partners import Access, Role
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import exports, installations
from tests.factories import (
    PASSWORD,
    USER,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
)
from tests.web.browsing import Browser, signed_in, web_user
from tests.web.test_store import outsider


def admin(app: App, n_clients: int = 1) -> tuple[int, list[int], Browser]:
    f = firm(app, n_clients=n_clients)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    return f.partner_id, [c.id for c in f.clients], signed_in(app, "admin@firm.be")


def unpinned(app: App, partner_id: int, sftp: SftpSandbox) -> int:
    values = {"host": "127.0.0.1", "port": str(sftp.port), "username": USER, "password": PASSWORD}
    return installations.install(app, partner_id, "sftp", "Office server", values).id


def test_test_connection_shows_the_fingerprint_and_trusts_only_the_confirmed_key(
    sqlite_app: App, sftp: SftpSandbox
) -> None:
    partner_id, _, browser = admin(sqlite_app)
    inst = unpinned(sqlite_app, partner_id, sftp)
    browser.get(f"/installations/{inst}")
    shown = browser.htmx("POST", f"/installations/{inst}/check")
    assert shown.status_code == 200
    assert f'<code class="fingerprint">{sftp.fingerprint}</code>' in shown.text
    assert f'name="trust" value="{sftp.fingerprint}"' in shown.text
    assert "Trust this key" in shown.text
    assert "host_key" not in installations.get(sqlite_app, partner_id, inst).config

    wrong = browser.post(f"/installations/{inst}/check", {"trust": "SHA256:" + "B" * 43})
    assert wrong.status_code == 200
    assert "nothing was pinned" in wrong.text and "The key was not trusted" in wrong.text
    assert "host_key" not in installations.get(sqlite_app, partner_id, inst).config

    trusted = browser.htmx("POST", f"/installations/{inst}/check", {"trust": sftp.fingerprint})
    assert "Connection works" in trusted.text and "pinned." in trusted.text
    pinned = installations.get(sqlite_app, partner_id, inst).config["host_key"]
    assert pinned == sftp.public_host_key


def test_a_refused_sign_in_or_an_unreachable_server_gets_a_hint(
    sqlite_app: App, sftp: SftpSandbox
) -> None:
    partner_id, _, browser = admin(sqlite_app)
    inst = sftp_installation(sqlite_app, partner_id, sftp, password="not-the-password")
    browser.get(f"/installations/{inst}")
    refused = browser.htmx("POST", f"/installations/{inst}/check").text
    assert "Sign-in refused" in refused and "Check the username and the password" in refused
    assert "not-the-password" not in refused
    installations.update(sqlite_app, partner_id, inst, {"password": PASSWORD, "port": "1"})
    down = browser.htmx("POST", f"/installations/{inst}/check").text
    assert "Connection problem" in down and "could not reach the target" in down


def test_editing_keeps_secrets_write_only(sqlite_app: App, sftp: SftpSandbox) -> None:
    partner_id, _, browser = admin(sqlite_app)
    inst = sftp_installation(sqlite_app, partner_id, sftp)
    page = browser.get(f"/installations/{inst}").text
    assert PASSWORD not in page
    password_input = re.search(r'<input id="f-password"[^>]*>', page)
    assert password_input and 'value=""' in password_input.group(0)
    assert "Leave empty to keep it" in page

    fields = {"name": "Renamed", "host": "127.0.0.1", "port": str(sftp.port), "username": USER}
    saved = browser.post(f"/installations/{inst}", {**fields, "password": ""})
    assert str(saved.url).endswith("?saved=1") and "Renamed" in saved.text
    after = installations.get(sqlite_app, partner_id, inst)
    assert after.name == "Renamed" and after.secret_fields == {"password"}  # kept

    # Removing the only credential is refused next to the field, and changes nothing.
    refused = browser.post(f"/installations/{inst}", {**fields, "password__remove": "true"})
    assert refused.status_code == 400
    assert 'id="f-password-error"' in refused.text
    bad_port = browser.post(
        f"/installations/{inst}", {**fields, "port": "0", "password": "N3w-Pa55"}
    )
    assert bad_port.status_code == 400 and 'id="f-port-error"' in bad_port.text
    assert "N3w-Pa55" not in bad_port.text
    assert "N3w" not in re.findall(r'<input id="f-password"[^>]*>', bad_port.text)[0]
    assert installations.get(sqlite_app, partner_id, inst) == after


def test_the_active_toggle_asks_first_with_the_clients_and_waiting_exports(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(sqlite_app, n_clients=3)
    web_user(sqlite_app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "admin@firm.be")
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    for client in f.clients[:2]:
        add_integration(sqlite_app, f.partner_id, client.id, inst)
    approve_invoices(sqlite_app, f, shared_data, 2)
    approve_invoices(sqlite_app, f, shared_data, 1, client=1)

    page = browser.get(f"/installations/{inst}").text
    assert f'href="/installations/{inst}/active?on=false"' in page
    for client in f.clients[:2]:
        assert f'<a href="/clients/{client.id}/integrations">{client.name}</a>' in page
    ask = browser.get(f"/installations/{inst}/active", params={"on": "false"}).text
    assert "It is used by 2 clients." in ask
    assert "3 exports are waiting to be sent" in ask
    assert installations.get(sqlite_app, f.partner_id, inst).active  # asking changed nothing

    browser.post(f"/installations/{inst}/active", {"on": "false"})
    assert not installations.get(sqlite_app, f.partner_id, inst).active
    held = [r["export"].state for r in exports.list_exports(sqlite_app, f.partner_id)]
    assert held == [ExportState.HELD] * 3
    back = browser.get(f"/installations/{inst}/active", params={"on": "true"}).text
    assert "3 exports are waiting" in back
    browser.post(f"/installations/{inst}/active", {"on": "true"})
    assert installations.get(sqlite_app, f.partner_id, inst).active
    listing = browser.get("/installations").text
    assert re.search(r'<td class="num">2</td>', listing)


def test_changes_without_the_csrf_token_are_refused(sqlite_app: App, sftp: SftpSandbox) -> None:
    partner_id, _, browser = admin(sqlite_app)
    inst = sftp_installation(sqlite_app, partner_id, sftp)
    before = installations.get(sqlite_app, partner_id, inst)
    assert (
        browser.client.post(f"/installations/{inst}/active", data={"on": "false"}).status_code
        == 403
    )
    assert browser.client.post(f"/installations/{inst}", data={"name": "X"}).status_code == 403
    assert browser.client.post(f"/installations/{inst}/check").status_code == 403
    assert installations.get(sqlite_app, partner_id, inst) == before


@pytest.mark.parametrize("who", ["accountant", "client manager", "business user"])
def test_only_administrators_manage_installations(
    sqlite_app: App, sftp: SftpSandbox, who: str
) -> None:
    partner_id, [client_id], _ = admin(sqlite_app)
    inst = sftp_installation(sqlite_app, partner_id, sftp)
    if who == "accountant":
        web_user(
            sqlite_app, partner_id, "x@firm.be", Role.ACCOUNTANT, assign={client_id: Access.EDIT}
        )
    elif who == "client manager":
        web_user(sqlite_app, partner_id, "x@firm.be", Role.CLIENT_MANAGER)
    else:
        web_user(sqlite_app, partner_id, "x@firm.be", Role.BUSINESS, client_id=client_id)
    browser = outsider(sqlite_app, "x@firm.be")
    for url in (
        "/installations",
        f"/installations/{inst}",
        f"/installations/{inst}/active?on=false",
        f"/installations/{inst}/oauth",
    ):
        assert browser.get(url).status_code == 404, url
    before = installations.get(sqlite_app, partner_id, inst)
    assert browser.post(f"/installations/{inst}/active", {"on": "false"}).status_code in (403, 404)
    assert browser.post(f"/installations/{inst}", {"name": "Mine"}).status_code in (403, 404)
    assert installations.get(sqlite_app, partner_id, inst) == before


def test_another_partners_installation_is_not_found(sqlite_app: App, sftp: SftpSandbox) -> None:
    _, _, browser = admin(sqlite_app)
    other = firm(sqlite_app, n_clients=1, name="Other firm")
    theirs = sftp_installation(sqlite_app, other.partner_id, sftp)
    assert browser.get(f"/installations/{theirs}").status_code == 404
    assert browser.post(f"/installations/{theirs}/active", {"on": "false"}).status_code == 404
    assert installations.get(sqlite_app, other.partner_id, theirs).active


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr", ["Tester la connexion", "Enregistrer la configuration", "Paramètres avancés"]),
        ("nl", ["Verbinding testen", "Configuratie opslaan", "Geavanceerde instellingen"]),
    ],
)
def test_the_pages_speak_french_and_dutch(
    sqlite_app: App, sftp: SftpSandbox, locale: str, words: list[str]
) -> None:
    partner_id, [client_id], browser = admin(sqlite_app)
    inst = sftp_installation(sqlite_app, partner_id, sftp)
    browser.post("/language", {"locale": locale, "next": "/"})
    page = browser.get(f"/installations/{inst}").text
    for word in words:
        assert word in page, word
    tab = browser.get(f"/clients/{client_id}/integrations").text
    assert {"fr": "Ajouter une intégration", "nl": "Integratie toevoegen"}[locale] in tab
