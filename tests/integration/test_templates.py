"""Configuration templates: a new client gets the default template's team and
integrations in the same transaction; a template applied later adds what is missing,
after a preview; whatever is refused leaves everything as it was. On both databases."""

from __future__ import annotations

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.domain.templates import Verdict
from passeur.services import (
    clients,
    installations,
    integrations,
    partners,
    template_plans,
    templates,
)
from tests.factories import firm, person
from tests.integration.test_access import refused
from tests.integration.test_integrations_ui_services import offline_sftp

PATH = "/in/[uen_number]/[invoice_type]"


def setup(app: App) -> tuple[int, int, int, int]:
    """A firm with one client, an SFTP installation, an accountant and a template that
    assigns the accountant and adds the installation with a path per client."""
    f = firm(app, n_clients=1)
    pid = f.partner_id
    sftp = offline_sftp(app, pid)
    ada = partners.add_user(app, pid, "ada@firm.be", "Ada", {Role.ACCOUNTANT}).id
    made = templates.create(app, pid, "Small firms", "SFTP per client", users={ada: Access.EDIT})
    templates.set_integration(app, pid, made.id, sftp, {"upload_path": PATH})
    return pid, sftp, ada, made.id


def test_a_client_created_with_the_default_template_gets_its_team_and_integrations(
    app: App,
) -> None:
    pid, sftp, ada, tid = setup(app)
    templates.mark_default(app, pid, tid)
    client = clients.create_client(app, pid, "New Co", uen_number="0202239951")
    [integ] = integrations.list_integrations(app, pid, client.id)
    assert (integ.installation_id, integ.config) == (sftp, {"upload_path": PATH})
    team = partners.team(app, pid, client.id)
    assert [(u.id, a) for u, a in team.members] == [(ada, Access.EDIT)]

    bare = clients.create_client(app, pid, "Bare Co", template=None)
    assert integrations.list_integrations(app, pid, bare.id) == []
    assert partners.team(app, pid, bare.id).members == []


def test_one_default_at_most_and_none_when_unmarked(app: App) -> None:
    pid, _sftp, _ada, tid = setup(app)
    other = templates.create(app, pid, "Other").id
    templates.mark_default(app, pid, tid)
    templates.mark_default(app, pid, other)
    defaults = [t.id for t in templates.list_templates(app, pid) if t.is_default]
    assert defaults == [other]
    templates.mark_default(app, pid, None)
    assert not any(t.is_default for t in templates.list_templates(app, pid))
    client = clients.create_client(app, pid, "No default Co")
    assert integrations.list_integrations(app, pid, client.id) == []


def test_a_template_that_cannot_be_applied_to_a_new_client_adds_no_client(app: App) -> None:
    pid, _sftp, _ada, tid = setup(app)
    refused(
        app,
        lambda: clients.create_client(app, pid, "No number Co", template=tid),
        InvalidInput,
        r"cannot be applied to No number Co: Offline: Upload path uses \[uen_number\]",
    )
    refused(
        app,
        lambda: clients.create_client(app, pid, "X", template=999),
        InvalidInput,
        "configuration template 999 does not exist",
    )


def test_applying_to_an_existing_client_previews_then_adds_only_what_is_missing(
    app: App,
) -> None:
    pid, sftp, ada, tid = setup(app)
    email = installations.install(
        app, pid, "email", "Mail", {"host": "smtp.example.com", "sender_address": "a@firm.be"}
    ).id
    templates.set_integration(app, pid, tid, email, {"purchases_address": "in@client.be"})
    client = clients.create_client(app, pid, "Old Co", uen_number="0417497106", template=None)
    integrations.add(app, pid, client.id, sftp, {"upload_path": "/old"})  # already there
    before = integrations.list_integrations(app, pid, client.id)

    plan = template_plans.preview(app, pid, tid, client.id)
    assert [(line.subject, line.verdict) for line in plan.users] == [("Ada", Verdict.ADD)]
    verdicts = {line.subject: line.verdict for line in plan.integrations}
    assert verdicts == {"Offline": Verdict.ALREADY, "Mail": Verdict.ADD}
    assert integrations.list_integrations(app, pid, client.id) == before  # a preview saves nothing

    template_plans.apply(app, pid, tid, client.id)
    found = {
        i.installation_id: i.config for i in integrations.list_integrations(app, pid, client.id)
    }
    assert found == {
        sftp: {"upload_path": "/old"},
        email: {"purchases_address": "in@client.be"},
    }  # sftp kept as it was
    assert [u.id for u, _a in partners.team(app, pid, client.id).members] == [ada]
    again = template_plans.preview(app, pid, tid, client.id)
    assert again.adds == 0


def test_a_refused_line_applies_nothing_and_a_switched_off_installation_is_skipped(
    app: App,
) -> None:
    pid, sftp, _ada, tid = setup(app)
    client = clients.create_client(app, pid, "No number Co", template=None)
    plan = template_plans.preview(app, pid, tid, client.id)
    [line] = plan.integrations
    assert line.verdict is Verdict.REFUSED and "[uen_number]" in line.reason
    refused(app, lambda: template_plans.apply(app, pid, tid, client.id), InvalidInput)

    installations.set_active(app, pid, sftp, False)
    [line] = template_plans.preview(app, pid, tid, client.id).integrations
    assert line.verdict is Verdict.SKIPPED
    template_plans.apply(app, pid, tid, client.id)  # the team only
    assert integrations.list_integrations(app, pid, client.id) == []
    assert len(partners.team(app, pid, client.id).members) == 1


def test_bad_template_input_is_refused_and_changes_nothing(app: App) -> None:
    pid, sftp, _ada, tid = setup(app)
    business = partners.add_user(
        app,
        pid,
        "boss@client.be",
        "Boss",
        {Role.BUSINESS},
        client_id=clients.list_clients(app, pid)[0].id,
    ).id
    cases = [
        (lambda: templates.create(app, pid, "  "), "a template needs a name"),
        (lambda: templates.create(app, pid, "Small firms"), "named Small firms already exists"),
        (lambda: templates.create(app, pid, "X", "d" * 2001), "at most 2,000 characters"),
        (lambda: templates.create(app, pid, "X", users={999: Access.EDIT}), "user 999 does not"),
        (lambda: templates.create(app, pid, "X", users={business: Access.EDIT}), "business user"),
        (
            lambda: templates.set_integration(app, pid, tid, sftp, {"upload_path": "/a/../b"}),
            "Upload path",
        ),
        (
            lambda: templates.set_integration(app, pid, tid, sftp, {"password": "x"}),
            "unknown field",
        ),
        (lambda: templates.remove_integration(app, pid, tid, 999), "does not add installation"),
    ]
    for call, message in cases:
        refused(app, call, InvalidInput, message)
    refused(app, lambda: templates.set_integration(app, pid, tid, 999, {}), NotFound)


def test_client_managers_choose_templates_and_only_administrators_manage_them(
    app: App,
) -> None:
    pid, _sftp, _ada, tid = setup(app)
    manager = person(app, pid, "cm@firm.be", Role.CLIENT_MANAGER)
    accountant = person(app, pid, "acc@firm.be", Role.ACCOUNTANT)
    assert [t.id for t in templates.list_templates(app, pid, actor=manager)] == [tid]
    refused(app, lambda: templates.create(app, pid, "Mine", actor=manager), Forbidden)
    refused(app, lambda: templates.delete(app, pid, tid, actor=manager), Forbidden)
    refused(app, lambda: templates.list_templates(app, pid, actor=accountant), Forbidden)
    client = clients.create_client(
        app, pid, "Managed Co", uen_number="0200065765", template=tid, actor=manager
    )
    assert len(integrations.list_integrations(app, pid, client.id)) == 1
    refused(app, lambda: template_plans.apply(app, pid, tid, client.id, actor=manager), Forbidden)
    other = firm(app, n_clients=0, name="Other firm")
    refused(app, lambda: templates.get(app, other.partner_id, tid), NotFound)


def test_deleting_a_template_keeps_what_it_gave(app: App) -> None:
    pid, _sftp, _ada, tid = setup(app)
    client = clients.create_client(app, pid, "Kept Co", uen_number="0202239951", template=tid)
    templates.delete(app, pid, tid)
    assert templates.list_templates(app, pid) == []
    assert len(integrations.list_integrations(app, pid, client.id)) == 1
    archived = clients.change_status(app, pid, client.id, ClientStatus.ARCHIVED)
    assert archived.status is ClientStatus.ARCHIVED


def test_applying_to_an_archived_client_is_refused(app: App) -> None:
    pid, _sftp, _ada, tid = setup(app)
    client = clients.create_client(app, pid, "Gone Co", template=None)
    clients.change_status(app, pid, client.id, ClientStatus.ARCHIVED)
    refused(app, lambda: template_plans.apply(app, pid, tid, client.id), Conflict)


def test_renaming_to_a_taken_name_is_refused(app: App) -> None:
    pid, _sftp, _ada, _tid = setup(app)
    other = templates.create(app, pid, "Other").id
    refused(
        app,
        lambda: templates.update(app, pid, other, "Small firms"),
        InvalidInput,
        "already exists",
    )
