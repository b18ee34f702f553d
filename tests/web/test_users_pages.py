"""Settings → Users: the list for who may see it, inviting for administrators."""

from __future__ import annotations

from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.partners import Access, Role
from passeur.services import partners, sessions
from tests.factories import firm
from tests.web.browsing import Browser, signed_in, web_user
from tests.web.practice import Practice, practice, snapshot

SCRIPT = "<script>alert(1)</script>"
GOOD = {
    "name": "Ben Peeters",
    "email": "ben@firm.be",
    "password": "a long first password",
    "roles": ["accountant", "client_manager"],
    "locale": "nl",
}


@pytest.fixture
def p(sqlite_app: App, shared_data: Path) -> Practice:
    made = practice(sqlite_app, shared_data, n_clients=2)
    web_user(sqlite_app, made.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    web_user(
        sqlite_app,
        made.partner_id,
        "ada@firm.be",
        Role.ACCOUNTANT,
        assign={made.clients[0]: Access.EDIT, made.clients[1]: Access.VIEW},
    )
    web_user(sqlite_app, made.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    web_user(sqlite_app, made.partner_id, "biz@client.be", Role.BUSINESS, client_id=made.clients[1])
    return made


def test_the_users_with_their_roles_and_clients(sqlite_app: App, p: Practice) -> None:
    page = signed_in(sqlite_app, "admin@firm.be").get("/settings/users")
    assert page.status_code == 200
    text = page.text
    assert "ada@firm.be" in text and "2 clients assigned" in text
    assert "Administrator" in text and "Client manager" in text and "All clients" in text
    assert "Business users" in text
    assert f'<a href="/clients/{p.clients[1]}/team">Client 1</a>' in text
    assert "Invite new user" in text


def test_an_administrator_invites_a_user_who_can_sign_in(sqlite_app: App, p: Practice) -> None:
    browser = signed_in(sqlite_app, "admin@firm.be")
    done = browser.post("/settings/users", GOOD)
    assert done.status_code == 200 and done.url.path == "/settings/users"
    assert "Ben Peeters can now sign in with the e-mail address ben@firm.be." in done.text
    [ben] = [u for u in partners.list_users(sqlite_app, p.partner_id) if u.email == "ben@firm.be"]
    assert ben.roles == {Role.ACCOUNTANT, Role.CLIENT_MANAGER} and ben.locale == "nl"
    assert GOOD["password"] not in done.text
    welcome = Browser(sqlite_app)
    welcome.sign_in("ben@firm.be", GOOD["password"])
    assert welcome.get("/").status_code == 200
    assert sessions.locale_of(sqlite_app, ben.id) == "nl"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password": "short"}, "password", "A password needs 12 to 1,000 characters."),
        ({"password": ""}, "password", "A password needs 12 to 1,000 characters."),
        ({"roles": []}, "roles", "Choose at least one role."),
        ({"roles": ["business"]}, "roles", "Choose at least one role."),
        ({"email": "not an address"}, "email", "Enter an e-mail address"),
        ({"email": ""}, "email", "Enter an e-mail address"),
        ({"email": "ADA@firm.be"}, "email", "A user with this e-mail address already exists."),
        ({"locale": "de"}, "locale", "Choose one of the languages."),
        ({"name": "x" * 201}, "name", "A name may have at most 200 characters."),
    ],
)
def test_a_refused_invitation_says_why_next_to_the_field_and_saves_nothing(
    sqlite_app: App, p: Practice, change: dict[str, object], field: str, message: str
) -> None:
    browser = signed_in(sqlite_app, "admin@firm.be")
    before = snapshot(sqlite_app)
    page = browser.post("/settings/users", {**GOOD, **change})
    assert page.status_code == 400
    assert f'id="f-{field}-error" class="field-error">{message}' in page.text
    assert snapshot(sqlite_app) == before
    assert GOOD["password"] not in page.text, "a password is never sent back"
    if field != "email":
        assert 'value="ben@firm.be"' in page.text, "what was typed is kept"


def test_who_may_see_and_invite(sqlite_app: App, p: Practice) -> None:
    manager = signed_in(sqlite_app, "cm@firm.be")
    page = manager.get("/settings/users")
    assert page.status_code == 200 and "Invite new user" not in page.text
    before = snapshot(sqlite_app)
    assert manager.post("/settings/users", GOOD).status_code == 403
    accountant = signed_in(sqlite_app, "ada@firm.be")
    assert accountant.get("/settings/users").status_code == 404
    assert accountant.post("/settings/users", GOOD).status_code == 403
    business = signed_in(sqlite_app, "biz@client.be")
    assert business.get("/settings/users").status_code == 404
    assert business.post("/settings/users", GOOD).status_code == 403
    admin = signed_in(sqlite_app, "admin@firm.be")
    assert admin.client.post("/settings/users", data=GOOD).status_code == 403, "no CSRF token"
    assert snapshot(sqlite_app) == before


def test_names_are_text(sqlite_app: App, p: Practice) -> None:
    browser = signed_in(sqlite_app, "admin@firm.be")
    browser.post("/settings/users", {**GOOD, "name": SCRIPT})
    page = browser.get("/settings/users")
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_an_administrator_edits_a_users_roles_and_cannot_drop_the_last_admin(
    sqlite_app: App,
) -> None:
    f = firm(sqlite_app, n_clients=1)
    admin_id = web_user(sqlite_app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    ada_id = web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ACCOUNTANT)
    browser = signed_in(sqlite_app, "admin@firm.be")
    page = browser.get("/settings/users")
    assert f'href="/settings/users/{ada_id}"' in page.text
    form = browser.get(f"/settings/users/{ada_id}")
    assert 'value="accountant" checked' in form.text
    done = browser.post(f"/settings/users/{ada_id}", {"roles": ["client_manager"]})
    assert done.status_code == 200 and "are saved" in done.text
    assert partners.get_user(sqlite_app, f.partner_id, ada_id).roles == {Role.CLIENT_MANAGER}
    browser.get(f"/settings/users/{admin_id}")
    refused = browser.post(f"/settings/users/{admin_id}", {"roles": ["accountant"]})
    assert refused.status_code == 409 and "at least one administrator" in refused.text
    empty = browser.post(f"/settings/users/{ada_id}", {})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.text
    assert partners.get_user(sqlite_app, f.partner_id, admin_id).roles == {Role.ADMINISTRATOR}
    manager = signed_in(sqlite_app, "ada@firm.be")
    manager.get("/settings/users")
    assert (
        manager.post(f"/settings/users/{ada_id}", {"roles": ["administrator"]}).status_code == 403
    )
