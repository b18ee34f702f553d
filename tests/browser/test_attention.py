"""A target that refuses us: Home and the client's Integrations tab say so with the
reason; once the password is fixed, Retry delivers what was waiting."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports
from tests.browser.harness import screenshot
from tests.browser.practice import ADMIN, practice, sign_in
from tests.browser.test_flow import deliver
from tests.factories import PASSWORD, add_integration, sftp_installation

Serve = Callable[[App], str]


def test_a_refusing_target_needs_attention_and_retry_delivers_once_fixed(
    page: Page, live_server: Serve, sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    office = practice(sqlite_app, shared_data)
    inst = sftp_installation(sqlite_app, office.partner_id, sftp, password="not-the-password")
    add_integration(sqlite_app, office.partner_id, office.client(0), inst)
    documents.approve(sqlite_app, office.partner_id, office.waiting_id)
    deliver(sqlite_app)
    [row] = exports.list_exports(sqlite_app, office.partner_id)
    assert row["export"].state.value == "needs_attention"

    base = live_server(sqlite_app)
    sign_in(page, base, ADMIN)
    attention = page.locator("main").get_by_role("row", name=re.compile("Bakkerij Peeters"))
    expect(attention.first).to_contain_text(re.compile("password|authentication", re.I))
    screenshot(page, "1-home-needs-attention")
    attention.first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/clients/{office.client(0)}/integrations$"))
    row_on_tab = page.get_by_role("row", name=re.compile("SFTP"))
    expect(row_on_tab).to_contain_text("Needs attention")
    screenshot(page, "2-client-needs-attention")

    page.goto(f"{base}/installations/{inst}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("Configuration saved.")).to_be_visible()

    page.goto(f"{base}/exports/{row['export'].id}")
    page.get_by_role("button", name="Retry").click()
    deliver(sqlite_app)
    page.goto(f"{base}/exports/{row['export'].id}")
    expect(page.locator("main")).to_contain_text("Delivered")
    screenshot(page, "3-delivered-after-retry")
    page.goto(f"{base}/clients/{office.client(0)}/integrations")
    expect(page.get_by_role("row", name=re.compile("SFTP"))).to_contain_text("Active")
    page.goto(base + "/")
    expect(page.locator("main")).not_to_contain_text("Bakkerij Peeters")
