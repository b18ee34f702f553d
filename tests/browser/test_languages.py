"""A client's page in English, French and Dutch, with no string left untranslated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from passeur.bootstrap import App
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents
from tests.browser.harness import screenshot
from tests.browser.practice import ADMIN, practice, sign_in
from tests.browser.test_flow import deliver
from tests.browser.wording import untranslated
from tests.factories import add_integration, sftp_installation

Serve = Callable[[App], str]
TABS = {"en": "Integrations", "fr": "Intégrations", "nl": "Integraties"}


@pytest.mark.parametrize("locale", ["en", "fr", "nl"])
def test_the_client_page_speaks_one_language(
    page: Page,
    live_server: Serve,
    sqlite_app: App,
    sftp: SftpSandbox,
    shared_data: Path,
    locale: str,
) -> None:
    office = practice(sqlite_app, shared_data)
    inst = sftp_installation(sqlite_app, office.partner_id, sftp)
    integration = add_integration(sqlite_app, office.partner_id, office.client(0), inst)
    documents.approve(sqlite_app, office.partner_id, office.waiting_id)
    deliver(sqlite_app)
    base = live_server(sqlite_app)
    sign_in(page, base, ADMIN)
    page.locator("#language-choice").select_option(locale)
    page.locator("form[action='/language'] button").click()
    expect(page.locator("html")).to_have_attribute("lang", locale)
    client = office.client(0)
    for tab in ("documents?folder=purchase_invoices", "integrations", "team"):
        page.goto(f"{base}/clients/{client}/{tab}")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        text = page.locator("body").inner_text()
        assert "%(" not in text, f"{tab}: a placeholder was not filled"
        if locale != "en":
            assert untranslated(page, locale) == [], f"{tab} in {locale}"
        screenshot(page, f"{tab.split('?')[0]}-{locale}")
    expect(page.locator(".tabs")).to_contain_text(TABS[locale])
    page.goto(f"{base}/documents/{office.waiting_id}")
    if locale != "en":
        assert untranslated(page, locale) == [], f"the document page in {locale}"
    practice_scale = {  # the pages a firm with many clients works in
        "templates": "/clients/templates",
        "template-new": "/clients/templates/new",
        "client-import": "/clients/import",
        "bulk-activation": f"/installations/{inst}/import",
        "backfill": f"/integrations/{integration}/backfill",
    }
    for name, path in practice_scale.items():
        page.goto(f"{base}{path}")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        assert "%(" not in page.locator("body").inner_text(), f"{name}: a placeholder"
        if locale != "en":
            assert untranslated(page, locale) == [], f"{name} in {locale}"
        screenshot(page, f"{name}-{locale}")


def test_the_check_finds_english_left_on_a_french_page(page: Page) -> None:
    page.set_content(
        '<html lang="fr"><body><p>Clients</p><p>Purchase invoices</p>'
        '<button aria-label="Sign out">x</button><code>Purchase invoices</code></body></html>'
    )
    # "Clients" reads the same in French; <code> holds values, not messages.
    assert untranslated(page, "fr") == ["Purchase invoices", "Sign out"]
