"""Practice scale in the browser, as an administrator would do it: a configuration template
marked as default gives a new client its team and SFTP; one file adds SFTP to many
clients after a preview; a backfill sends a client's history after a dry run, with its
progress live. Each page passes axe; screenshots for the closing note."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.domain.clock import utcnow
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import clients, documents, integrations, partners, templates
from tests.browser.harness import assert_accessible, run_async, screenshot
from tests.browser.practice import ADMIN, EDITOR, practice, sign_in
from tests.browser.test_flow import Serve
from tests.factories import sftp_installation
from tests.integration.test_client_import import ROWS, xlsx


def test_templates_bulk_activation_and_backfill(
    page: Page, live_server: Serve, sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    office = practice(sqlite_app, shared_data)
    pid = office.partner_id
    inst = sftp_installation(sqlite_app, pid, sftp)
    base = live_server(sqlite_app)
    sign_in(page, base, ADMIN)

    # 1. A configuration template, marked as default, for every new client.
    page.goto(base + "/clients")
    page.get_by_role("button", name="Configuration templates").click()
    page.get_by_role("button", name="Create new").click()
    page.get_by_role("textbox", name="Name").fill("Small firms")
    page.get_by_role("textbox", name="Description").fill("SFTP, one folder per client")
    page.get_by_label("editor").select_option("edit")
    assert_accessible(page, context_name="template form")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("status")).to_contain_text("Template saved.")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("textbox", name="Upload path").fill("/in/[uen_number]/[invoice_type]")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator("article")).to_contain_text("/in/[uen_number]/[invoice_type]")
    screenshot(page, "1-template")
    page.get_by_role("link", name="Configuration templates").click()
    page.get_by_role("button", name="Mark Small firms as default").click()
    assert_accessible(page, context_name="templates")
    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_label("Configuration template")).to_have_value(
        str(next(iter(_templates(sqlite_app, pid))))
    )
    page.get_by_role("textbox", name="Name").fill("Nieuwe Klant")
    page.get_by_role("textbox", name="Enterprise number").fill("0417497106")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("link", name="Integrations").click()
    expect(page.locator("table")).to_contain_text("SFTP")
    screenshot(page, "2-client-from-template")
    new = next(c for c in clients.list_clients(sqlite_app, pid) if c.name == "Nieuwe Klant")
    assert [u.email for u, _a in partners.team(sqlite_app, pid, new.id).members] == [EDITOR]

    # 2. One file adds SFTP to the other clients, after a preview. Client 0's owner
    # approved an invoice before: it stays history (for the backfill below).
    documents.approve(sqlite_app, pid, office.waiting_id)
    page.goto(f"{base}/installations/{inst}")
    page.get_by_role("button", name="Add to clients from a file").click()
    assert_accessible(page, context_name="bulk activation upload")
    rows = "client;upload_path\nC000;/in/c0\nZZZ;/in/z\nC001;/in/../x\n"
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("status")).to_contain_text("1 client would get it")
    expect(page.locator("table")).to_contain_text("Unknown client")
    expect(page.locator("table")).to_contain_text("Invalid field")
    assert_accessible(page, context_name="bulk activation preview")
    screenshot(page, "3-bulk-activation-preview")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("Added to 1 client from the file.")

    # 3. A backfill of client 0's history (approved before it had the integration).
    [integ] = integrations.list_integrations(sqlite_app, pid, office.client(0))
    assert integ.installation_id == inst
    page.goto(f"{base}/clients/{office.client(0)}/integrations")
    page.get_by_role("link", name="Backfill").first.click()
    day = f"{utcnow():%Y-%m-%d}"
    page.get_by_label("From").fill(day)
    page.get_by_label("To").fill(day)
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", level=3)).to_have_text("1 document would be sent")
    assert_accessible(page, context_name="backfill dry run")
    screenshot(page, "4-backfill-dry-run")
    page.get_by_role("button", name="Start the backfill").click()
    expect(page.locator("#backfill-progress")).to_contain_text("1 on their way")
    run_async(_deliver(sqlite_app))
    expect(page.locator("#backfill-progress")).to_contain_text("Finished.", timeout=15_000)
    expect(page.locator("#backfill-progress")).to_contain_text("1 of 1 sent")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    assert_accessible(page, context_name="backfill progress")
    screenshot(page, "5-backfill-finished")


def _templates(app: App, partner_id: int) -> list[int]:
    return [t.id for t in templates.list_templates(app, partner_id)]


async def _deliver(app: App) -> None:
    await Worker(app).run(asyncio.Event(), drain=True)


def test_import_clients_and_apply_a_template_later(
    page: Page, live_server: Serve, sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    office = practice(sqlite_app, shared_data)
    pid = office.partner_id
    inst = sftp_installation(sqlite_app, pid, sftp)
    made = templates.create(sqlite_app, pid, "Small firms")
    templates.set_integration(sqlite_app, pid, made.id, inst, {"upload_path": "/in/[uen_number]"})
    base = live_server(sqlite_app)
    sign_in(page, base, ADMIN)

    page.goto(base + "/clients")
    page.get_by_role("button", name="Import clients").click()
    assert_accessible(page, context_name="client import upload")
    page.get_by_label("File").set_input_files(
        files=[{"name": "clients.xlsx", "mimeType": "text/plain", "buffer": xlsx(ROWS)}]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("status")).to_contain_text("1 client would be added")
    assert_accessible(page, context_name="client import preview")
    screenshot(page, "1-client-import-preview")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("1 client imported, as a draft.")

    page.goto(f"{base}/clients/{office.client(1)}/integrations")
    page.get_by_role("button", name="Apply a configuration template").click()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("table")).to_contain_text("Would add")
    assert_accessible(page, context_name="apply a template")
    screenshot(page, "2-apply-template-preview")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status").first).to_contain_text("Configuration template applied.")
    assert len(integrations.list_integrations(sqlite_app, pid, office.client(1))) == 1
