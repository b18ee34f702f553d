"""Clients → Configuration templates in the partner space: create one with its users and
an integration, mark it as default, add a client with it, apply it to an existing client
after a preview; refusals show why and change nothing."""

from __future__ import annotations

from passeur.bootstrap import App
from passeur.domain.partners import Access, Role
from passeur.services import clients, integrations, partners, templates
from tests.factories import firm
from tests.integration.test_integrations_ui_services import offline_sftp
from tests.web.browsing import Browser, signed_in, web_user
from tests.web.practice import snapshot

PATH = "/in/[uen_number]/[invoice_type]"


def office(app: App) -> tuple[int, int, int, Browser]:
    f = firm(app, n_clients=1)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    ada = web_user(app, f.partner_id, "ada@firm.be", Role.ACCOUNTANT)
    return f.partner_id, offline_sftp(app, f.partner_id), ada, signed_in(app, "admin@firm.be")


def test_create_a_template_mark_it_default_and_add_a_client_with_it(sqlite_app: App) -> None:
    pid, sftp, ada, browser = office(sqlite_app)
    listing = browser.get("/clients").text
    assert 'href="/clients/templates"' in listing and "Configuration templates" in listing
    assert "No configuration template yet." in browser.get("/clients/templates").text

    made = browser.post(
        "/clients/templates/new",
        {"name": "Small firms", "description": "SFTP per client", f"access_{ada}": "edit"},
    )
    assert made.status_code == 200 and "Template saved." in made.text
    [template] = templates.list_templates(sqlite_app, pid)
    choose = browser.get(f"/clients/templates/{template.id}/integrations/new").text
    assert f'name="installation" value="{sftp}"' in choose
    form = browser.get(
        f"/clients/templates/{template.id}/integrations/new", params={"installation": sftp}
    ).text
    assert 'name="upload_path"' in form and "Save configuration" in form
    saved = browser.post(
        f"/clients/templates/{template.id}/integrations/new",
        {"installation": str(sftp), "upload_path": PATH, "root": "", "verify_readback": ""},
    )
    assert saved.status_code == 200 and PATH in saved.text

    browser.post(f"/clients/templates/{template.id}/default")
    assert "Default" in browser.get("/clients/templates").text
    new_form = browser.get("/clients/new").text
    assert f'<option value="{template.id}" selected>Small firms (Default)</option>' in new_form

    added = browser.post(
        "/clients/new",
        {
            "name": "New Co",
            "uen_number": "0202239951",
            "status": "draft",
            "template": str(template.id),
        },
    )
    assert added.status_code == 200
    client = next(c for c in clients.list_clients(sqlite_app, pid) if c.name == "New Co")
    [integ] = integrations.list_integrations(sqlite_app, pid, client.id)
    assert integ.config == {"upload_path": PATH}
    assert [u.id for u, _a in partners.team(sqlite_app, pid, client.id).members] == [ada]


def test_a_template_the_new_client_cannot_take_is_shown_and_nothing_is_saved(
    sqlite_app: App,
) -> None:
    pid, sftp, _ada, browser = office(sqlite_app)
    made = templates.create(sqlite_app, pid, "Small firms")
    templates.set_integration(sqlite_app, pid, made.id, sftp, {"upload_path": PATH})
    browser.get("/clients/new")
    before = snapshot(sqlite_app)
    refused = browser.post(
        "/clients/new", {"name": "No number Co", "status": "draft", "template": str(made.id)}
    )
    assert refused.status_code == 400
    assert "This configuration template cannot be applied to this client:" in refused.text
    assert "[uen_number]" in refused.text
    assert snapshot(sqlite_app) == before

    duplicate = browser.post("/clients/templates/new", {"name": "Small firms"})
    assert duplicate.status_code == 400 and "no other template has" in duplicate.text
    assert snapshot(sqlite_app) == before
    bad_path = browser.post(
        f"/clients/templates/{made.id}/integrations/new",
        {"installation": str(sftp), "upload_path": "/a/../b"},
    )
    assert bad_path.status_code == 400 and 'aria-invalid="true"' in bad_path.text
    assert snapshot(sqlite_app) == before


def test_apply_a_template_to_an_existing_client_after_a_preview(sqlite_app: App) -> None:
    pid, sftp, ada, browser = office(sqlite_app)
    made = templates.create(sqlite_app, pid, "Small firms", users={ada: Access.VIEW})
    templates.set_integration(sqlite_app, pid, made.id, sftp, {"upload_path": PATH})
    client = clients.list_clients(sqlite_app, pid)[0]

    tab = browser.get(f"/clients/{client.id}/integrations").text
    assert f'href="/clients/{client.id}/template"' in tab
    before = snapshot(sqlite_app)
    preview = browser.get(f"/clients/{client.id}/template", params={"template": made.id}).text
    assert "Would be assigned (View)" in preview and "Would add" in preview
    assert snapshot(sqlite_app) == before
    applied = browser.post(f"/clients/{client.id}/template", {"template": str(made.id)})
    assert applied.status_code == 200 and "Configuration template applied." in applied.text
    assert len(integrations.list_integrations(sqlite_app, pid, client.id)) == 1
    again = browser.get(f"/clients/{client.id}/template", params={"template": made.id}).text
    assert "already has everything" in again


def test_only_administrators_open_the_templates(sqlite_app: App) -> None:
    pid, _sftp, _ada, _browser = office(sqlite_app)
    made = templates.create(sqlite_app, pid, "Small firms")
    web_user(sqlite_app, pid, "cm@firm.be", Role.CLIENT_MANAGER)
    manager = signed_in(sqlite_app, "cm@firm.be")
    assert manager.get("/clients/templates").status_code == 404
    assert manager.get(f"/clients/templates/{made.id}").status_code == 404
    assert "Configuration templates" not in manager.get("/clients").text
    # …but they choose one when they add a client.
    assert "Small firms" in manager.get("/clients/new").text
    before = snapshot(sqlite_app)
    assert manager.post(f"/clients/templates/{made.id}/delete").status_code == 403
    assert snapshot(sqlite_app) == before


def test_delete_after_a_confirmation(sqlite_app: App) -> None:
    pid, _sftp, _ada, browser = office(sqlite_app)
    made = templates.create(sqlite_app, pid, "Small firms")
    assert (
        "keep their team and integrations"
        in browser.get(f"/clients/templates/{made.id}/delete").text
    )
    done = browser.post(f"/clients/templates/{made.id}/delete")
    assert done.status_code == 200 and "Template deleted." in done.text
    assert templates.list_templates(sqlite_app, pid) == []
