"""axe-core on every main page, at a laptop's and a tablet's width: no serious or
critical violation, and no page wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from passeur.bootstrap import App
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports
from tests.browser.harness import assert_accessible, screenshot
from tests.browser.practice import ADMIN, OWNER, practice, sign_in, sign_out
from tests.browser.test_flow import deliver
from tests.factories import add_integration, sftp_installation

Serve = Callable[[App], str]
ADMIN_PAGES = [
    "/",
    "/clients",
    "/clients/new",
    "/clients/{c0}/documents",
    "/clients/{c0}/integrations",
    "/clients/{c0}/integrations/new",
    "/clients/{c0}/integrations/new?installation={inst}",
    "/clients/{c0}/team",
    "/clients/{c0}/archive",
    "/documents/{doc}",
    "/exports",
    "/exports/{export}",
    "/exports/retry",
    "/store",
    "/store/sftp/install",
    "/installations",
    "/installations/{inst}",
    "/installations/{inst}/active?on=false",
    "/integrations/{integ}/edit",
    "/integrations/{integ}/remove",
    "/settings/users",
    "/settings/audit",
    "/clients/{c0}/audit",
    "/integrations/{integ}/audit",
    "/settings/webhooks",
    "/exports/webhooks",
    "/settings/api-clients",
    "/notifications",
    "/settings/notifications",
]
WIDTHS = {"laptop": (1280, 800), "tablet": (768, 1024)}


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_main_page_passes_axe(
    page: Page,
    live_server: Serve,
    sqlite_app: App,
    sftp: SftpSandbox,
    shared_data: Path,
    device: str,
) -> None:
    office = practice(sqlite_app, shared_data)
    inst = sftp_installation(sqlite_app, office.partner_id, sftp)
    integ = add_integration(sqlite_app, office.partner_id, office.client(0), inst)
    documents.approve(sqlite_app, office.partner_id, office.waiting_id)
    deliver(sqlite_app)
    [row] = exports.list_exports(sqlite_app, office.partner_id)
    ids = {
        "c0": office.client(0),
        "doc": office.waiting_id,
        "export": row["export"].id,
        "inst": inst,
        "integ": integ,
    }
    width, height = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": height})
    base = live_server(sqlite_app)
    results = {"/signin": _check(page, base + "/signin", "signin", device)}
    sign_in(page, base, ADMIN)
    for template in ADMIN_PAGES:
        url = template.format(**ids)
        results[url] = _check(page, base + url, url, device)
    page.goto(base + "/clients/new")  # a form showing an error next to its field
    page.get_by_role("textbox", name="Name").fill("Bakkerij Janssens")
    page.get_by_role("textbox", name="VAT number").fill("BE0000000000")
    page.get_by_role("button", name="Add").click()
    results["/clients/new (error)"] = _check(page, None, "client-form-error", device)
    sign_out(page)
    sign_in(page, base, OWNER)
    results["/business"] = _check(page, base + "/business", "business", device)
    for url, summary in results.items():
        print(f"{device} {url}: {summary}")


def _check(page: Page, url: str | None, name: str, device: str) -> str:
    if url is not None:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than a {device} screen"
    screenshot(page, f"{device}-{name.strip('/').replace('/', '_').replace('?', '_') or 'home'}")
    return str(assert_accessible(page, context_name=f"{name} ({device})"))
