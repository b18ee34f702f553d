"""A client's Team tab: assign the firm's users with Edit or View, remove them."""

from __future__ import annotations

import re

from passeur.bootstrap import App
from passeur.domain.partners import Access, Role
from passeur.services import actors, partners
from tests.factories import firm
from tests.web.browsing import signed_in, web_user

XSS = "<script>alert(1)</script>"


def access_of(app: App, user_id: int, client_id: int) -> Access | None:
    return actors.for_user(app, user_id).assigned.get(client_id)


def test_an_administrator_adds_changes_and_removes_a_member(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    pid, cid = f.partner_id, f.clients[0].id
    web_user(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    ann = web_user(app, pid, "ann@firm.be", Role.ACCOUNTANT)
    owner = partners.add_user(app, pid, "owner@client.be", "Owner", {Role.BUSINESS}, client_id=cid)
    admin = signed_in(app, "admin@firm.be")

    page = admin.get(f"/clients/{cid}/team")
    assert page.status_code == 200 and 'aria-current="page">Team' in page.text
    assert "Nobody of the firm is assigned to this client yet." in page.text
    options = re.findall(r'<option value="(\d+)"', page.text)
    assert str(ann) in options and str(owner.id) not in options, "business users are not offered"
    assert "owner@client.be" in page.text, "the client's business users are listed"

    added = admin.post(f"/clients/{cid}/team", {"user": ann, "access": "view"})
    assert added.status_code == 200 and "The member was added" in added.text
    assert access_of(app, ann, cid) is Access.VIEW
    assert "ann@firm.be" in added.text
    assert str(ann) not in re.findall(r'<option value="(\d+)">', added.text.split("Add member")[-1])

    changed = admin.post(f"/clients/{cid}/team", {"user": ann, "access": "edit", "change": "1"})
    assert "access was changed" in changed.text and access_of(app, ann, cid) is Access.EDIT

    removed = admin.post(f"/clients/{cid}/team/{ann}/remove")
    assert removed.status_code == 200 and "The member was removed" in removed.text
    assert access_of(app, ann, cid) is None
    ann_browser = signed_in(app, "ann@firm.be")
    assert ann_browser.get(f"/clients/{cid}/team").status_code == 404


def test_the_add_form_shows_errors_next_to_its_fields(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    web_user(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    ann = web_user(app, pid, "ann@firm.be", Role.ACCOUNTANT)
    admin = signed_in(app, "admin@firm.be")
    admin.get(f"/clients/{cid}/team")
    refused = admin.post(f"/clients/{cid}/team", {"user": "", "access": "owner"})
    assert refused.status_code == 400
    assert 'id="f-user-error"' in refused.text and "Choose a user." in refused.text
    assert 'id="f-access-error"' in refused.text
    assert partners.team(app, pid, cid).members == []
    business = partners.add_user(app, pid, "b@client.be", "B", {Role.BUSINESS}, client_id=cid)
    assert (
        admin.post(f"/clients/{cid}/team", {"user": business.id, "access": "edit"}).status_code
        == 409
    )
    assert admin.post(f"/clients/{cid}/team", {"user": 999999, "access": "edit"}).status_code == 404
    assert admin.post(f"/clients/{cid}/team/{ann}/remove").status_code == 404, "not a member"
    assert partners.team(app, pid, cid).members == []


def test_an_accountant_sees_the_team_but_cannot_change_it(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    viewer = web_user(app, pid, "viewer@firm.be", Role.ACCOUNTANT, assign={cid: Access.EDIT})
    ann = web_user(app, pid, "ann@firm.be", Role.ACCOUNTANT)
    browser = signed_in(app, "viewer@firm.be")
    page = browser.get(f"/clients/{cid}/team")
    assert page.status_code == 200 and "viewer@firm.be" in page.text
    assert "Add member" not in page.text and "/remove" not in page.text
    assert browser.post(f"/clients/{cid}/team", {"user": ann, "access": "edit"}).status_code == 403
    assert browser.post(f"/clients/{cid}/team/{viewer}/remove").status_code == 403
    assert access_of(app, ann, cid) is None and access_of(app, viewer, cid) is Access.EDIT


def test_a_client_manager_manages_the_team_and_outsiders_get_not_found(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    web_user(app, pid, "manager@firm.be", Role.CLIENT_MANAGER)
    ann = partners.add_user(app, pid, "ann@firm.be", f"Ann {XSS}", {Role.ACCOUNTANT}).id
    web_user(app, pid, "nobody@firm.be", Role.ACCOUNTANT)
    manager = signed_in(app, "manager@firm.be")
    page = manager.get(f"/clients/{cid}/team")
    assert "Add member" in page.text and XSS not in page.text and "&lt;script&gt;" in page.text
    assert manager.post(f"/clients/{cid}/team", {"user": ann, "access": "edit"}).status_code == 200
    assert XSS not in manager.get(f"/clients/{cid}/team").text
    assert access_of(app, ann, cid) is Access.EDIT

    nobody = signed_in(app, "nobody@firm.be")
    assert nobody.get(f"/clients/{cid}/team").status_code == 404
    assert nobody.post(f"/clients/{cid}/team/{ann}/remove").status_code == 403
    assert access_of(app, ann, cid) is Access.EDIT


def test_team_changes_need_the_csrf_token(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    web_user(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    ann = web_user(app, pid, "ann@firm.be", Role.ACCOUNTANT, assign={cid: Access.VIEW})
    admin = signed_in(app, "admin@firm.be")
    added = admin.client.post(f"/clients/{cid}/team", data={"user": ann, "access": "edit"})
    assert added.status_code == 403
    assert admin.client.post(f"/clients/{cid}/team/{ann}/remove").status_code == 403
    assert access_of(app, ann, cid) is Access.VIEW
