"""Signing in and out of the partner space, CSRF, and the language a page speaks."""

from __future__ import annotations

from starlette.testclient import TestClient

from passeur.bootstrap import App
from passeur.domain.partners import Role
from passeur.services import sessions
from passeur.web.app import create
from tests.factories import firm
from tests.web.browsing import WEB_PASSWORD, Browser, signed_in, web_user


def test_pages_need_a_session_and_sign_in_leads_back(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = Browser(sqlite_app)
    page = browser.get("/")
    assert page.url.path == "/signin" and page.url.params["next"] == "/"
    assert 'type="password"' in page.text
    done = browser.post("/signin", {"email": "ada@firm.be", "password": WEB_PASSWORD, "next": "/"})
    assert done.url.path == "/" and "Sign out" in done.text
    cookie = done.history[0].headers["set-cookie"]
    assert "passeur_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie, "plain http on loopback: Secure would drop the cookie"


def test_the_session_cookie_is_secure_over_https(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    client = TestClient(create(sqlite_app), base_url="https://testserver")
    form = client.get("/signin")
    token = client.cookies["passeur_presession"]
    assert token in form.text
    done = client.post(
        "/signin",
        data={"email": "ada@firm.be", "password": WEB_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Secure" in done.headers["set-cookie"]


def test_a_wrong_password_says_so_next_to_the_form_and_signs_nobody_in(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = Browser(sqlite_app)
    browser.get("/signin")
    page = browser.post("/signin", {"email": "ada@firm.be", "password": "nope"})
    assert page.status_code == 400
    assert "Wrong e-mail address or password." in page.text
    assert 'aria-invalid="true"' in page.text
    assert browser.get("/").url.path == "/signin"


def test_the_lockout_is_shown_after_repeated_failures(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = Browser(sqlite_app)
    browser.get("/signin")
    statuses = [
        browser.post("/signin", {"email": "ada@firm.be", "password": "nope"}).status_code
        for _ in range(7)
    ]
    assert statuses[-1] == 429
    locked = browser.post("/signin", {"email": "ada@firm.be", "password": WEB_PASSWORD})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text


def test_sign_in_and_every_change_need_the_csrf_token(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    anonymous = TestClient(create(sqlite_app))
    anonymous.get("/signin")
    refused = anonymous.post("/signin", data={"email": "ada@firm.be", "password": WEB_PASSWORD})
    assert refused.status_code == 403 and "passeur_session" not in anonymous.cookies
    browser = signed_in(sqlite_app, "ada@firm.be")
    forged = browser.client.post("/signout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert browser.get("/").url.path == "/", "still signed in"
    wrong_header = browser.client.post("/language", data={"locale": "fr"},
                                       headers={"X-CSRF-Token": "forged"})  # fmt: skip
    assert wrong_header.status_code == 403
    assert "Sign out" in browser.get("/").text, "the language did not change"


def test_sign_out_ends_the_session_on_the_server(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "ada@firm.be")
    token = browser.client.cookies["passeur_session"]
    browser.get("/")
    assert browser.post("/signout").url.path == "/signin"
    assert sessions.session(sqlite_app, token) is None


def test_sign_in_never_redirects_to_another_site(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        browser = Browser(sqlite_app)
        browser.get("/signin")
        done = browser.client.post(
            "/signin",
            data={
                "email": "ada@firm.be",
                "password": WEB_PASSWORD,
                "next": target,
                "csrf_token": browser.csrf,
            },
            follow_redirects=False,
        )
        assert done.headers["location"] == "/"


def test_the_browser_language_decides_until_the_user_chooses(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "ada@firm.be", **{"Accept-Language": "nl-BE,nl;q=0.9"})
    page = browser.get("/")
    assert '<html lang="nl">' in page.text and "Klanten" in page.text
    browser.post("/language", {"locale": "fr", "next": "/"})
    assert '<html lang="fr">' in browser.get("/").text
    again = signed_in(sqlite_app, "ada@firm.be", **{"Accept-Language": "nl"})
    assert '<html lang="fr">' in again.get("/").text, "the choice is kept on the account"


def test_an_unknown_language_is_refused_and_changes_nothing(sqlite_app: App) -> None:
    f = firm(sqlite_app, n_clients=1)
    user_id = web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "ada@firm.be")
    browser.get("/")
    assert browser.post("/language", {"locale": "de"}).status_code == 400
    assert sessions.locale_of(sqlite_app, user_id) == ""


def test_pages_carry_a_strict_content_security_policy(sqlite_app: App) -> None:
    page = TestClient(create(sqlite_app)).get("/signin")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_body_larger_than_any_document_is_refused_before_it_is_read(sqlite_app: App) -> None:
    from passeur.web.limits import MAX_BODY

    client = TestClient(create(sqlite_app))
    huge = client.post("/signin", headers={"content-length": str(MAX_BODY + 1)}, content=b"x")
    assert huge.status_code == 413
    chunked = client.post("/signin", content=iter([b"email=a"]))
    assert chunked.status_code == 411


def test_malformed_ids_and_values_get_the_error_page_not_a_database_error(
    sqlite_app: App,
) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "ada@firm.be")
    for url in ("/exports/abc", "/exports/-1", "/clients/" + "9" * 30, "/installations/1x"):
        page = browser.get(url)
        assert page.status_code == 404 and "<html" in page.text, url
    wrong_type = browser.get(f"/clients/{f.clients[0].id}/integrations/new?installation=x")
    assert wrong_type.status_code == 400 and "<html" in wrong_type.text
    assert "application/json" not in wrong_type.headers["content-type"]
