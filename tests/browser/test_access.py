"""Who sees what, by typing URLs: every role against every main page, CSRF refused, and
script in a client's name shown as text, never run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import clients, documents, exports
from tests.browser.harness import screenshot
from tests.browser.practice import (
    ADMIN,
    EDITOR,
    MANAGER,
    OWNER,
    STRANGER,
    VIEWER,
    Practice,
    practice,
    sign_in,
)
from tests.browser.test_flow import deliver
from tests.factories import add_integration, sftp_installation

Serve = Callable[[App], str]
ROLES = [ADMIN, MANAGER, EDITOR, VIEWER, STRANGER, OWNER]

# page → the roles that may open it (in ROLES' order); every other role gets 404.
SEEN_BY: dict[str, set[str]] = {
    "/clients": {ADMIN, MANAGER, EDITOR, VIEWER, STRANGER},
    "/clients/{c0}/documents": {ADMIN, EDITOR, VIEWER},
    "/clients/{c0}/integrations": {ADMIN, EDITOR, VIEWER},
    "/clients/{c0}/team": {ADMIN, MANAGER, EDITOR, VIEWER},
    "/clients/{c1}/documents": {ADMIN},
    "/clients/{c1}/team": {ADMIN, MANAGER},
    "/clients/{c0}/edit": {ADMIN, MANAGER},
    "/clients/{c0}/integrations/new": {ADMIN},
    "/documents/{doc}": {ADMIN, EDITOR, VIEWER},
    "/exports": {ADMIN, EDITOR, VIEWER, STRANGER},
    "/exports/{export}": {ADMIN, EDITOR, VIEWER},
    "/store": {ADMIN},
    "/installations": {ADMIN},
    "/installations/{inst}": {ADMIN},
    "/integrations/{integ}/edit": {ADMIN},
    "/settings/users": {ADMIN, MANAGER},
    "/business": {OWNER},
    "/clients/templates": {ADMIN},
    "/clients/templates/new": {ADMIN},
    "/clients/{c0}/template": {ADMIN},
    "/clients/import": {ADMIN, MANAGER},
    "/installations/{inst}/import": {ADMIN},
    "/integrations/{integ}/backfill": {ADMIN},
}


def _ids(office: Practice, sftp: SftpSandbox) -> dict[str, int]:
    inst = sftp_installation(office.app, office.partner_id, sftp)
    integ = add_integration(office.app, office.partner_id, office.client(0), inst)
    documents.approve(office.app, office.partner_id, office.waiting_id)
    deliver(office.app)
    [row] = exports.list_exports(office.app, office.partner_id)
    return {
        "c0": office.client(0),
        "c1": office.client(1),
        "doc": office.waiting_id,
        "export": row["export"].id,
        "inst": inst,
        "integ": integ,
    }


@pytest.mark.parametrize("who", ROLES)
def test_each_role_opens_its_pages_and_gets_404_elsewhere(
    page: Page,
    live_server: Serve,
    sqlite_app: App,
    sftp: SftpSandbox,
    shared_data: Path,
    who: str,
) -> None:
    office = practice(sqlite_app, shared_data)
    ids = _ids(office, sftp)
    base = live_server(sqlite_app)
    sign_in(page, base, who)
    wrong = []
    for template, allowed in SEEN_BY.items():
        url = template.format(**ids)
        response = page.goto(base + url)
        assert response is not None
        expected = 200 if who in allowed else 404
        if response.status != expected:
            wrong.append(f"{url}: {response.status}, expected {expected}")
    assert wrong == [], f"{who}: " + "; ".join(wrong)
    home = page.goto(base + "/")
    assert home is not None and home.status == 200
    if who == OWNER:
        assert page.url.endswith("/business"), "a business user's home is their client's space"


def test_a_change_without_the_csrf_token_is_refused_and_saves_nothing(
    page: Page, live_server: Serve, sqlite_app: App, shared_data: Path
) -> None:
    office = practice(sqlite_app, shared_data)
    base = live_server(sqlite_app)
    sign_in(page, base, ADMIN)
    before = len(clients.list_clients(sqlite_app, office.partner_id))
    forged = page.request.post(base + "/clients/new", form={"name": "Forged client"})
    assert forged.status == 403
    assert len(clients.list_clients(sqlite_app, office.partner_id)) == before
    wrong = page.request.post(
        base + "/clients/new", form={"name": "Forged client", "csrf_token": "guessed"}
    )
    assert wrong.status == 403
    assert len(clients.list_clients(sqlite_app, office.partner_id)) == before


def test_script_in_a_client_name_is_shown_as_text_and_never_runs(
    page: Page, live_server: Serve, sqlite_app: App, shared_data: Path
) -> None:
    hostile = '<script>window.__ran = 1</script><img src="x" onerror="window.__ran = 2">'
    office = practice(sqlite_app, shared_data, client_name=hostile)
    base = live_server(sqlite_app)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, base, ADMIN)
    for url in ("/clients", f"/clients/{office.client(0)}/documents", "/"):
        page.goto(base + url)
        assert page.evaluate("() => window.__ran") is None, url
    page.goto(f"{base}/clients/{office.client(0)}/documents")
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)
    screenshot(page, "hostile-name-as-text")
    assert dialogs == []
