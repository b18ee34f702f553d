"""The store ("Discover more"): the catalogue, installing from it, and OAuth sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from passeur.bootstrap import App
from passeur.connectors.sftp import EXTENSION as SFTP
from passeur.domain.clock import utcnow
from passeur.domain.extensions import Extension
from passeur.domain.partners import Access, Role
from passeur.sandbox.dropbox_server import DropboxServer, ThreadedDropboxServer
from passeur.sandbox.oauth_server import OAuthServer, ThreadedOAuthServer
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import installations
from passeur.services.oauth_grants import GRANT_FIELDS
from passeur.storage.db import transaction
from passeur.storage.tables import oauth_states
from tests.factories import PASSWORD, USER, firm
from tests.oauth_provider import FAKE, approve_at, register, use_provider
from tests.web.browsing import WEB_PASSWORD, Browser, signed_in, web_user

SECRET = "Wr1te-0nly-S3cret!"


def admin(app: App) -> tuple[int, Browser]:
    f = firm(app, n_clients=1)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    return f.partner_id, signed_in(app, "admin@firm.be")


def outsider(app: App, email: str) -> Browser:
    """Signed in, whatever their start page is (a business user's is built elsewhere)."""
    browser = Browser(app)
    browser.get("/signin")
    browser.post("/signin", {"email": email, "password": WEB_PASSWORD, "next": "/store"})
    assert browser.client.cookies.get("passeur_session")
    return browser


def test_the_store_lists_every_extension_with_what_it_sends_and_takes(sqlite_app: App) -> None:
    _, browser = admin(sqlite_app)
    page = browser.get("/store")
    assert page.status_code == 200
    for name in ("SFTP", "HTTP", "E-mail"):
        assert f"<h2>{name}</h2>" in page.text
    assert SFTP.sends in page.text
    assert "Purchases, Sales, Statements, Other documents" in page.text
    assert 'href="/store/sftp/install"' in page.text

    found = browser.get("/store", params={"q": "mail"}).text
    assert "<h2>E-mail</h2>" in found and "<h2>SFTP</h2>" not in found
    transfer = browser.get("/store", params={"group": "transfer"}).text
    assert "<h2>SFTP</h2>" in transfer
    cloud = browser.get("/store", params={"group": "cloud"}).text
    for name in ("Dropbox", "Google Drive", "Microsoft OneDrive"):
        assert f"<h2>{name}</h2>" in cloud
    assert "<h2>SFTP</h2>" not in cloud and "Signs in with Dropbox after installing." in cloud
    nothing = browser.get("/store", params={"q": "no such extension"}).text
    assert "<h2>" not in nothing and "No extension matches your search." in nothing
    assert browser.get("/store", params={"group": "nonsense"}).status_code == 200


def test_installing_sftp_from_the_store_saves_it_and_opens_its_page(
    sqlite_app: App, sftp: SftpSandbox
) -> None:
    partner_id, browser = admin(sqlite_app)
    form = browser.get("/store/sftp/install").text
    assert 'name="host"' in form and 'type="password"' in form
    assert "<summary>Advanced settings</summary>" in form
    done = browser.post(
        "/store/sftp/install",
        {
            "name": "Office server",
            "host": "127.0.0.1",
            "port": str(sftp.port),
            "username": USER,
            "password": PASSWORD,
            "root": ".",
            "upload_path": "/in/[uen_number]",
        },
    )
    assert done.status_code == 200
    assert str(done.url).endswith("/installations/1?installed=1")
    [inst] = installations.list_installations(sqlite_app, partner_id)
    assert inst.name == "Office server" and inst.config["port"] == sftp.port
    assert inst.secret_fields == frozenset({"password"})
    assert inst.config["verify_readback"] is False  # an unticked box is "no"
    assert PASSWORD not in done.text


def test_a_refused_install_shows_the_error_next_to_the_field_and_saves_nothing(
    sqlite_app: App,
) -> None:
    partner_id, browser = admin(sqlite_app)
    missing = browser.post(
        "/store/sftp/install", {"name": "S", "host": "", "username": "u", "password": SECRET}
    )
    assert missing.status_code == 400
    assert 'id="f-host-error"' in missing.text and 'aria-invalid="true"' in missing.text
    bad_port = browser.post(
        "/store/sftp/install",
        {"host": "h.example", "port": "abc", "username": "u", "password": SECRET},
    )
    assert bad_port.status_code == 400
    assert 'id="f-port-error" class="field-error">Port must be a whole number' in bad_port.text
    assert 'value="h.example"' in bad_port.text  # what was typed is kept…
    assert SECRET not in missing.text + bad_port.text  # …but never a secret
    no_secret = browser.post("/store/sftp/install", {"host": "h.example", "username": "u"})
    assert no_secret.status_code == 400 and 'id="f-password-error"' in no_secret.text
    assert installations.list_installations(sqlite_app, partner_id) == []


def test_an_installation_name_with_html_is_shown_as_text(sqlite_app: App) -> None:
    _, browser = admin(sqlite_app)
    name = "<script>alert(1)</script>"
    browser.post(
        "/store/sftp/install", {"name": name, "host": "h.example", "username": "u", "password": "p"}
    )
    for url in ("/installations", "/installations/1"):
        page = browser.get(url).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and name not in page


def test_installing_without_the_csrf_token_is_refused(sqlite_app: App) -> None:
    partner_id, browser = admin(sqlite_app)
    values = {"name": "S", "host": "h.example", "username": "u", "password": "p"}
    refused = browser.client.post("/store/sftp/install", data=values)
    assert refused.status_code == 403
    wrong = browser.client.post("/store/sftp/install", data={**values, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert installations.list_installations(sqlite_app, partner_id) == []


@pytest.mark.parametrize("who", ["accountant", "client manager", "business user"])
def test_only_administrators_open_the_store(sqlite_app: App, who: str) -> None:
    f = firm(sqlite_app, n_clients=1)
    client_id = f.clients[0].id
    if who == "accountant":
        web_user(
            sqlite_app, f.partner_id, "x@firm.be", Role.ACCOUNTANT, assign={client_id: Access.EDIT}
        )
    elif who == "client manager":
        web_user(sqlite_app, f.partner_id, "x@firm.be", Role.CLIENT_MANAGER)
    else:
        web_user(sqlite_app, f.partner_id, "x@firm.be", Role.BUSINESS, client_id=client_id)
    browser = outsider(sqlite_app, "x@firm.be")
    for url in ("/store", "/store/sftp/install"):
        assert browser.get(url).status_code == 404, url
    values = {"host": "h.example", "username": "u", "password": "p"}
    assert browser.post("/store/sftp/install", values).status_code in (403, 404)
    assert installations.list_installations(sqlite_app, f.partner_id) == []


# OAuth: the shared flow with an extension of the tests' own (tests/oauth_provider.py),
# signing in at the local stand-in provider; then Dropbox at its stand-in.


@pytest.fixture
def fake_oauth(sqlite_app: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[Extension]:
    threaded = ThreadedOAuthServer(OAuthServer())
    provider = threaded.start()
    register(monkeypatch, FAKE)
    use_provider(monkeypatch, provider)
    sqlite_app.settings.allowed_networks = "127.0.0.0/8"  # the stand-in is on loopback
    yield FAKE
    threaded.stop()


def _start(browser: Browser, installation_id: int) -> str:
    """Follow "Sign in with …" up to the provider; the state it was given."""
    away = browser.client.get(f"/installations/{installation_id}/oauth", follow_redirects=False)
    assert away.status_code == 303
    target = urlsplit(away.headers["location"])
    assert target.path == "/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["passeur-test"] and query["scope"] == ["books"]
    assert query["redirect_uri"] == ["http://testserver/oauth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    return query["state"][0]


def _code(browser: Browser, installation_id: int) -> tuple[str, str]:
    """Sign in at the provider: the state and code it sends back."""
    away = browser.client.get(f"/installations/{installation_id}/oauth", follow_redirects=False)
    answer = approve_at(away.headers["location"])
    return answer["state"], answer["code"]


def test_an_oauth_extension_signs_in_and_keeps_the_tokens_it_gets(
    sqlite_app: App, fake_oauth: Extension
) -> None:
    partner_id, browser = admin(sqlite_app)
    store = browser.get("/store").text
    assert "Signs in with Fake Books after installing." in store
    browser.post("/store/fakebooks/install", {"name": "Books", "company": "ACME"})
    page = browser.get("/installations/1").text
    assert 'href="/installations/1/oauth">Sign in with Fake Books</a>' in page

    _start(browser, 1)
    state, code = _code(browser, 1)
    back = browser.get("/oauth/callback", params={"state": state, "code": code})
    assert back.status_code == 200 and str(back.url).endswith("/installations/1?signed_in=1")
    # Every part of the grant (the stand-in provider does not say when its refresh token ends).
    assert installations.get(sqlite_app, partner_id, 1).secret_fields == GRANT_FIELDS - {
        "refresh_expires_at"
    }

    again = browser.get("/oauth/callback", params={"state": state, "code": "other"})
    assert again.status_code == 400 and "already used" in again.text


def test_a_forged_expired_or_someone_elses_oauth_answer_changes_nothing(
    sqlite_app: App, fake_oauth: Extension
) -> None:
    partner_id, browser = admin(sqlite_app)
    browser.post("/store/fakebooks/install", {"name": "Books"})

    forged = browser.get("/oauth/callback", params={"state": "guessed", "code": "x"})
    assert forged.status_code == 400 and "Sign-in not accepted" in forged.text
    assert browser.get("/oauth/callback", params={"code": "x"}).status_code == 400

    state = _start(browser, 1)
    web_user(sqlite_app, partner_id, "other@firm.be", Role.ADMINISTRATOR)
    other = signed_in(sqlite_app, "other@firm.be")
    stolen = other.get("/oauth/callback", params={"state": state, "code": "x"})
    assert stolen.status_code == 400 and "started by someone else" in stolen.text
    assert installations.get(sqlite_app, partner_id, 1).secret_fields == frozenset()

    with transaction(sqlite_app.engine) as conn:
        conn.execute(update(oauth_states).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = browser.get("/oauth/callback", params={"state": state, "code": "x"})
    assert late.status_code == 400 and "longer than 10 minutes" in late.text
    assert installations.get(sqlite_app, partner_id, 1).secret_fields == frozenset()


def test_an_extension_without_a_provider_says_so(
    sqlite_app: App, fake_oauth: Extension, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, browser = admin(sqlite_app)
    browser.post("/store/fakebooks/install", {"name": "Books"})
    state = _start(browser, 1)
    unwritten = replace(FAKE, oauth=replace(FAKE.oauth, token_url_setting=""))  # type: ignore[arg-type]
    register(monkeypatch, unwritten)
    answer = browser.get("/oauth/callback", params={"state": state, "code": "x"})
    assert answer.status_code == 409 and "has no OAuth provider yet" in answer.text
    # SFTP signs in with no provider at all.
    browser.post("/store/sftp/install", {"host": "h.example", "username": "u", "password": "p"})
    assert "has no OAuth provider yet" in browser.get("/installations/2/oauth").text


def test_a_code_the_provider_refuses_keeps_nothing(sqlite_app: App, fake_oauth: Extension) -> None:
    partner_id, browser = admin(sqlite_app)
    browser.post("/store/fakebooks/install", {"name": "Books"})
    state = _start(browser, 1)  # the provider never gave this code
    answer = browser.get("/oauth/callback", params={"state": state, "code": "forged"})
    assert answer.status_code == 409 and "refused the sign-in code" in answer.text
    assert installations.get(sqlite_app, partner_id, 1).secret_fields == frozenset()


def test_an_answer_without_a_code_or_too_long_is_refused_and_stores_nothing(
    sqlite_app: App, fake_oauth: Extension
) -> None:
    _, browser = admin(sqlite_app)
    browser.post("/store/fakebooks/install", {"name": "Books"})
    state = _start(browser, 1)
    no_code = browser.get("/oauth/callback", params={"state": state})
    assert no_code.status_code == 400 and "carries no code" in no_code.text
    long = browser.get("/oauth/callback", params={"state": "s" * 201, "code": "c"})
    assert long.status_code == 400 and "longer than a sign-in answer" in long.text
    assert installations.get(sqlite_app, 1, 1).secret_fields == frozenset()


def test_dropbox_installs_without_a_field_and_signs_in_through_the_web(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    threaded = ThreadedDropboxServer(DropboxServer(client_id="passeur-web"))
    dropbox = threaded.start()
    try:
        for name, value in dropbox.settings().items():
            monkeypatch.setattr(sqlite_app.settings, name, value)
        sqlite_app.settings.allowed_networks = "127.0.0.0/8"  # the stand-in is on loopback
        partner_id, browser = admin(sqlite_app)
        browser.post("/store/dropbox/install", {"name": "Office Dropbox"})
        page = browser.get("/installations/1").text
        assert 'href="/installations/1/oauth">Sign in with Dropbox</a>' in page
        away = browser.client.get("/installations/1/oauth", follow_redirects=False)
        query = parse_qs(urlsplit(away.headers["location"]).query)
        assert query["token_access_type"] == ["offline"] and query["client_id"] == ["passeur-web"]
        answer = approve_at(away.headers["location"])
        back = browser.get("/oauth/callback", params=answer)
        assert str(back.url).endswith("/installations/1?signed_in=1")
        # Every part of the grant (the stand-in does not say when its refresh token ends).
        assert installations.get(sqlite_app, partner_id, 1).secret_fields == GRANT_FIELDS - {
            "refresh_expires_at"
        }
        assert dropbox.exchanges == 1
    finally:
        threaded.stop()
