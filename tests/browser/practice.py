"""A small firm for the browser tests: one user per role, clients, SFTP, documents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import clients
from tests.factories import Firm, firm, upload_invoice
from tests.web.browsing import WEB_PASSWORD, web_user

ADMIN = "admin@firm.be"
MANAGER = "manager@firm.be"
EDITOR = "editor@firm.be"  # accountant, edit access to client 0
VIEWER = "viewer@firm.be"  # accountant, view access to client 0
STRANGER = "stranger@firm.be"  # accountant with no client
OWNER = "owner@bakery.be"  # business user of client 0


@dataclass
class Practice:
    app: App
    firm: Firm
    waiting_id: int  # a purchase invoice of client 0 that its owner has not approved yet

    @property
    def partner_id(self) -> int:
        return self.firm.partner_id

    def client(self, index: int) -> int:
        return self.firm.clients[index].id


def practice(app: App, shared_data: Path, *, client_name: str = "Bakkerij Peeters") -> Practice:
    f = firm(app, n_clients=2)
    first = f.clients[0]
    clients.update_client(
        app,
        f.partner_id,
        first.id,
        client_name,
        uen_number=first.uen_number,
        vat_number=first.vat_number,
        external_ref=first.external_ref,
    )
    f.clients[0] = clients.get_client(app, f.partner_id, first.id)
    web_user(app, f.partner_id, ADMIN, Role.ADMINISTRATOR)
    web_user(app, f.partner_id, MANAGER, Role.CLIENT_MANAGER)
    web_user(app, f.partner_id, EDITOR, Role.ACCOUNTANT, assign={first.id: Access.EDIT})
    web_user(app, f.partner_id, VIEWER, Role.ACCOUNTANT, assign={first.id: Access.VIEW})
    web_user(app, f.partner_id, STRANGER, Role.ACCOUNTANT)
    web_user(app, f.partner_id, OWNER, Role.BUSINESS, client_id=first.id)
    doc = upload_invoice(
        app,
        f.partner_id,
        first.id,
        shared_data / "ubl/peppol-base-example.xml",
        DocumentKind.PURCHASE_INVOICE,
    )
    assert f.clients[0].status is ClientStatus.ACTIVE
    return Practice(app, f, doc.id)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/signin")
    page.locator("#email").fill(email)
    page.locator("#password").fill(WEB_PASSWORD)
    page.locator("form[action='/signin'] button[type=submit]").click()
    expect(page.locator("form[action='/signout']")).to_be_visible()


def sign_out(page: Page) -> None:
    page.locator("form[action='/signout'] button").click()
    expect(page.locator("#password")).to_be_visible()
