"""A client's Integrations tab: health at a glance, add with the live path preview, edit,
pause, resume, remove and test; read-only for assigned accountants, 404 for the others."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, Role
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import clients, integrations
from tests.factories import (
    PASSWORD,
    Firm,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
)
from tests.web.browsing import Browser, signed_in, web_user
from tests.web.test_store import outsider

PATH = "/in/[external_id]/[uen_number]/[invoice_type]/[year]"


def office(app: App, n_clients: int = 2) -> tuple[Firm, Browser]:
    f = firm(app, n_clients=n_clients)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    return f, signed_in(app, "admin@firm.be")


def test_adding_sftp_to_a_client_previews_the_path_for_its_own_document(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f, browser = office(sqlite_app)
    client = f.clients[0]
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    [doc_id] = approve_invoices(sqlite_app, f, shared_data, 1)

    tab = browser.get(f"/clients/{client.id}/integrations").text
    assert f'href="/clients/{client.id}/integrations/new">Add integration</a>' in tab
    choose = browser.get(f"/clients/{client.id}/integrations/new").text
    assert f'name="installation" value="{inst}"' in choose

    form = browser.get(f"/clients/{client.id}/integrations/new", params={"installation": inst})
    assert form.status_code == 200
    text = form.text
    assert (
        "From the installation: /invoice_import/[external_id]_[uen_number]/[invoice_type]" in text
    )
    assert 'hx-trigger="input changed delay:300ms"' in text and 'hx-include="closest form"' in text
    hook = f'hx-get="/clients/{client.id}/integrations/preview?installation={inst}"'
    assert hook in text and "Save configuration" in text
    # Before typing, the installation's path, rendered for this client's document.
    assert "invoice_import/C000_0403170701/purchases/" in text

    fragment = browser.htmx(
        "GET", f"/clients/{client.id}/integrations/preview?installation={inst}&upload_path={PATH}"
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    rendered = re.search(r'<code class="path">([^<]+)</code>', fragment.text)
    assert rendered is not None
    assert re.fullmatch(
        rf"in/C000/0403170701/purchases/20\d\d/[^/]+_d{doc_id}\.xml", rendered.group(1)
    )
    assert "peppol-base-example.xml" in fragment.text

    added = browser.post(
        f"/clients/{client.id}/integrations/new",
        {"installation": str(inst), "upload_path": PATH, "root": "", "verify_readback": ""},
    )
    assert added.status_code == 200 and "Integration added." in added.text
    [integ] = integrations.list_integrations(sqlite_app, f.partner_id, client.id)
    assert integ.config == {"upload_path": PATH}  # empty fields keep the installation's value
    choose_again = browser.get(f"/clients/{client.id}/integrations/new").text
    assert "No installed extension can be added" in choose_again


def test_the_preview_says_when_a_path_cannot_be_used_or_there_is_no_document(
    sqlite_app: App, sftp: SftpSandbox
) -> None:
    f, browser = office(sqlite_app)
    bare = clients.create_client(sqlite_app, f.partner_id, "No reference")
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    url = f"/clients/{bare.id}/integrations/preview?installation={inst}"
    empty = browser.htmx("GET", f"{url}&upload_path={PATH}").text
    assert "cannot be used for this client" in empty and "[external_id]" in empty
    assert "This client has no document yet" in empty
    escaping = browser.htmx("GET", f"{url}&upload_path=/in/../up").text
    assert "may not contain &#39;..&#39;" in escaping


def test_a_refused_integration_shows_the_error_next_to_the_field_and_saves_nothing(
    sqlite_app: App, sftp: SftpSandbox
) -> None:
    f, browser = office(sqlite_app)
    bare = clients.create_client(sqlite_app, f.partner_id, "No reference")
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    escaping = browser.post(
        f"/clients/{f.clients[0].id}/integrations/new",
        {"installation": str(inst), "upload_path": "/in/../../etc"},
    )
    assert escaping.status_code == 400
    assert 'id="f-upload_path-error" class="field-error"' in escaping.text
    assert 'value="/in/../../etc"' in escaping.text
    too_long = browser.post(
        f"/clients/{f.clients[0].id}/integrations/new",
        {
            "installation": str(inst),
            "upload_path": "/in/[client_name]_[external_id]_[document_number]",
        },
    )
    assert too_long.status_code == 400 and 'id="f-upload_path-error"' in too_long.text
    assert "can render to 282 bytes" in too_long.text
    unfillable = browser.post(
        f"/clients/{bare.id}/integrations/new", {"installation": str(inst), "upload_path": PATH}
    )
    assert unfillable.status_code == 400 and 'id="f-upload_path-error"' in unfillable.text
    assert "has no external reference" in unfillable.text
    assert integrations.list_integrations(sqlite_app, f.partner_id) == []


def test_the_tab_shows_each_integrations_health_and_its_last_error(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f, browser = office(sqlite_app)
    client = f.clients[0]
    good = sftp_installation(sqlite_app, f.partner_id, sftp)
    name = "<script>alert(1)</script>"
    bad = sftp_installation(sqlite_app, f.partner_id, sftp, password="wrong")
    from passeur.services import installations

    installations.update(sqlite_app, f.partner_id, bad, {}, name=name)
    add_integration(sqlite_app, f.partner_id, client.id, good)
    add_integration(sqlite_app, f.partner_id, client.id, bad)
    approve_invoices(sqlite_app, f, shared_data, 2)
    asyncio.run(Worker(sqlite_app).run(asyncio.Event(), drain=True))

    page = browser.get(f"/clients/{client.id}/integrations").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and name not in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    assert len(rows) == 2
    delivered = re.findall(r'<td class="num">(\d+)</td>', rows[0])
    assert delivered == ["2", "0", "0"]
    assert "Delivered" in page and "Needs attention" in rows[1]
    assert "refused the login" in rows[1]  # the reason and the last error, in words
    assert re.findall(r'<td class="num">(\d+)</td>', rows[1])[0] == "0"


def test_pause_resume_edit_and_remove(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f, browser = office(sqlite_app)
    client = f.clients[0]
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, client.id, inst)
    tab = browser.get(f"/clients/{client.id}/integrations").text
    assert f'action="/integrations/{integ}/pause"' in tab

    paused = browser.post(f"/integrations/{integ}/pause")
    assert "Integration paused" in paused.text
    assert integrations.get(sqlite_app, f.partner_id, integ).status is IntegrationStatus.PAUSED
    browser.post(f"/integrations/{integ}/resume")
    assert integrations.get(sqlite_app, f.partner_id, integ).status is IntegrationStatus.ACTIVE

    edit = browser.get(f"/integrations/{integ}/edit").text
    assert f'action="/integrations/{integ}/edit"' in edit
    browser.post(f"/integrations/{integ}/edit", {"upload_path": "/other/[year]", "root": ""})
    assert integrations.get(sqlite_app, f.partner_id, integ).config == {
        "upload_path": "/other/[year]"
    }
    refused = browser.post(f"/integrations/{integ}/edit", {"upload_path": "C:/x"})
    assert refused.status_code == 400 and 'id="f-upload_path-error"' in refused.text
    assert integrations.get(sqlite_app, f.partner_id, integ).config == {
        "upload_path": "/other/[year]"
    }

    ask = browser.get(f"/integrations/{integ}/remove").text
    assert "Nothing was sent to it yet: it is deleted." in ask
    removed = browser.post(f"/integrations/{integ}/remove")
    assert "Integration removed." in removed.text
    assert integrations.list_integrations(sqlite_app, f.partner_id, client.id) == []

    kept = add_integration(sqlite_app, f.partner_id, client.id, inst)
    approve_invoices(sqlite_app, f, shared_data, 1)
    ask = browser.get(f"/integrations/{kept}/remove").text
    assert "1 export not sent yet is cancelled." in ask
    disconnected = browser.post(f"/integrations/{kept}/remove")
    assert "Integration disconnected" in disconnected.text
    status = integrations.get(sqlite_app, f.partner_id, kept).status
    assert status is IntegrationStatus.DISCONNECTED


def test_testing_an_integration_uses_the_clients_values(sqlite_app: App, sftp: SftpSandbox) -> None:
    f, browser = office(sqlite_app)
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, f.clients[0].id, inst)
    browser.get(f"/clients/{f.clients[0].id}/integrations")
    works = browser.htmx("POST", f"/integrations/{integ}/test").text
    assert "Connection works" in works
    integrations.update(sqlite_app, f.partner_id, integ, {"root": "missing-folder"})
    broken = browser.post(f"/integrations/{integ}/test").text  # without htmx: the whole tab
    assert '<h2 id="integrations-heading">' in broken
    assert "Configuration problem" in broken and "missing-folder" in broken


def test_an_assigned_accountant_sees_the_tab_read_only(sqlite_app: App, sftp: SftpSandbox) -> None:
    f, _ = office(sqlite_app)
    client = f.clients[0]
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, client.id, inst)
    web_user(
        sqlite_app, f.partner_id, "acc@firm.be", Role.ACCOUNTANT, assign={client.id: Access.VIEW}
    )
    browser = signed_in(sqlite_app, "acc@firm.be")
    tab = browser.get(f"/clients/{client.id}/integrations")
    assert tab.status_code == 200 and "SFTP" in tab.text
    assert "Add integration" not in tab.text and "/pause" not in tab.text
    for url in (
        f"/clients/{client.id}/integrations/new",
        f"/clients/{client.id}/integrations/new?installation={inst}",
        f"/clients/{client.id}/integrations/preview?installation={inst}",
        f"/integrations/{integ}/edit",
        f"/integrations/{integ}/remove",
        f"/clients/{f.clients[1].id}/integrations",  # not assigned to it
    ):
        assert browser.get(url).status_code == 404, url
    assert browser.post(f"/integrations/{integ}/pause").status_code == 403
    assert browser.post(f"/integrations/{integ}/remove").status_code == 403
    assert integrations.get(sqlite_app, f.partner_id, integ).status is IntegrationStatus.ACTIVE


@pytest.mark.parametrize("who", ["client manager", "business user"])
def test_others_do_not_see_integrations(sqlite_app: App, sftp: SftpSandbox, who: str) -> None:
    f, _ = office(sqlite_app)
    client = f.clients[0]
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, client.id, inst)
    if who == "client manager":
        web_user(sqlite_app, f.partner_id, "x@firm.be", Role.CLIENT_MANAGER)
    else:
        web_user(sqlite_app, f.partner_id, "x@firm.be", Role.BUSINESS, client_id=client.id)
    browser = outsider(sqlite_app, "x@firm.be")
    for url in (
        f"/clients/{client.id}/integrations",
        f"/clients/{client.id}/integrations/new",
        f"/integrations/{integ}/edit",
    ):
        assert browser.get(url).status_code == 404, url
    assert browser.post(f"/integrations/{integ}/remove").status_code in (403, 404)
    assert integrations.get(sqlite_app, f.partner_id, integ).status is IntegrationStatus.ACTIVE


def test_changes_without_the_csrf_token_are_refused(sqlite_app: App, sftp: SftpSandbox) -> None:
    f, browser = office(sqlite_app)
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, f.clients[0].id, inst)
    for action in ("pause", "remove", "edit"):
        assert browser.client.post(f"/integrations/{integ}/{action}").status_code == 403
    new = browser.client.post(
        f"/clients/{f.clients[1].id}/integrations/new", data={"installation": str(inst)}
    )
    assert new.status_code == 403
    assert [i.id for i in integrations.list_integrations(sqlite_app, f.partner_id)] == [integ]
    assert integrations.get(sqlite_app, f.partner_id, integ).status is IntegrationStatus.ACTIVE


def test_no_page_or_form_ever_holds_a_secret(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f, browser = office(sqlite_app)
    client = f.clients[0]
    inst = sftp_installation(sqlite_app, f.partner_id, sftp)
    integ = add_integration(sqlite_app, f.partner_id, client.id, inst)
    approve_invoices(sqlite_app, f, shared_data, 1)
    pages = [
        browser.get(url).text
        for url in (
            "/store",
            "/installations",
            f"/installations/{inst}",
            f"/installations/{inst}/active?on=false",
            f"/clients/{client.id}/integrations",
            f"/clients/{client.id}/integrations/new",
            f"/integrations/{integ}/edit",
            f"/integrations/{integ}/remove",
            f"/clients/{client.id}/integrations/preview?installation={inst}&password={PASSWORD}",
        )
    ]
    pages.append(browser.htmx("POST", f"/installations/{inst}/check").text)
    pages.append(browser.htmx("POST", f"/integrations/{integ}/test").text)
    pages.append(browser.post(f"/installations/{inst}", {"port": "x", "password": ""}).text)
    for page in pages:
        assert PASSWORD not in page
