"""The whole flow in the browser, as a firm and its client would do it, with no terminal:
install SFTP from the store and trust its key, add it to a client with a path while the
preview shows where the file will land, the client's owner approves the invoice, and the
Integrations tab shows it delivered; the file is on the SFTP server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.sandbox.sftp_server import SftpSandbox
from tests.browser.harness import run_async, screenshot
from tests.browser.practice import ADMIN, OWNER, practice, sign_in, sign_out
from tests.factories import PASSWORD, USER

Serve = Callable[[App], str]
PATH = "/in/[external_id]/[invoice_type]/[year]"


def deliver(app: App) -> None:
    """What a running worker does: deliver everything due, then stop."""
    run_async(Worker(app).run(asyncio.Event(), drain=True))


def test_install_add_approve_and_see_it_delivered(
    page: Page, live_server: Serve, sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    office = practice(sqlite_app, shared_data)
    base = live_server(sqlite_app)

    sign_in(page, base, ADMIN)
    page.get_by_role("link", name="Discover more").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Discover more")
    screenshot(page, "1-store")
    page.get_by_role("button", name="Install SFTP").click()
    page.get_by_role("textbox", name="Installation name").fill("Office server")
    page.get_by_role("textbox", name="Host", exact=True).fill("127.0.0.1")
    page.get_by_role("spinbutton", name="Port").fill(str(sftp.port))
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    screenshot(page, "2-install-form")
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Office server")

    page.get_by_role("button", name="Test connection").click()
    fingerprint = page.locator("code.fingerprint")
    expect(fingerprint).to_have_text(sftp.fingerprint)
    screenshot(page, "3-unknown-host-key")
    page.get_by_role("button", name="Trust this key").click()
    expect(page.locator("#check-result")).to_contain_text("Connection works")
    screenshot(page, "4-connection-works")

    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_role("link", name="Bakkerij Peeters").click()
    page.get_by_role("link", name="Integrations").click()
    page.get_by_role("button", name="Add integration").click()
    page.get_by_role("button", name="Continue").click()
    upload_path = page.get_by_label("Upload path")
    upload_path.fill(PATH)
    preview = page.locator("code.path").first
    expect(preview).to_have_text(re.compile(r"^/?in/C000/purchases/20\d\d/.+\.xml$"))
    screenshot(page, "5-path-preview")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_text("Integration added.")).to_be_visible()
    sign_out(page)

    sign_in(page, base, OWNER)
    expect(page).to_have_url(re.compile(r"/business$"))
    approve = page.get_by_role("button", name=re.compile(r"^Approve "))
    screenshot(page, "6-business-space")
    approve.click()
    expect(page.get_by_role("button", name=re.compile(r"^Approve "))).to_have_count(0)
    sign_out(page)

    deliver(sqlite_app)
    sign_in(page, base, ADMIN)
    page.goto(f"{base}/clients/{office.client(0)}/integrations")
    row = page.get_by_role("row", name=re.compile("Office server"))
    expect(row).to_contain_text("Active")
    expect(row.locator("td").filter(has_text=re.compile(r"^\s*1\s*$")).first).to_be_visible()
    screenshot(page, "7-delivered")
    landed = [p for p in (sftp.root / USER / "in" / "C000" / "purchases").rglob("*") if p.is_file()]
    assert len(landed) == 1
    assert landed[0].read_bytes() == (shared_data / "ubl/peppol-base-example.xml").read_bytes()
