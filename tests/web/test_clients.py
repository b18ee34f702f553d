"""The client list, adding, editing and archiving clients, by role."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, insert, update

from passeur.bootstrap import App
from passeur.domain.clock import utcnow
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import clients, installations, integrations
from passeur.storage.db import transaction
from passeur.storage.tables import clients as clients_table
from passeur.storage.tables import integrations as integrations_table
from tests.factories import Firm, firm
from tests.web.browsing import WEB_PASSWORD, Browser, signed_in, web_user

SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}
XSS = "<script>alert(1)</script>"


def people(app: App, f: Firm) -> dict[str, Browser]:
    """An administrator, a client manager, an accountant with View on client 0, and one
    assigned to nothing."""
    pid, cid = f.partner_id, f.clients[0].id
    web_user(app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    web_user(app, pid, "manager@firm.be", Role.CLIENT_MANAGER)
    web_user(app, pid, "viewer@firm.be", Role.ACCOUNTANT, assign={cid: Access.VIEW})
    web_user(app, pid, "nobody@firm.be", Role.ACCOUNTANT)
    return {
        name: signed_in(app, f"{name}@firm.be") for name in ("admin", "manager", "viewer", "nobody")
    }


def table_names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/clients/\d+">([^<]*)</a>', html)


def test_an_administrator_sees_every_client_with_its_integration_health(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=3)
    pid = f.partner_id
    inst = installations.install(app, pid, "sftp", "SFTP", SFTP_VALUES).id
    linked = integrations.add(app, pid, f.clients[1].id, inst, {}).id
    integrations.add(app, pid, f.clients[2].id, inst, {})
    with transaction(app.engine) as conn:
        conn.execute(
            update(integrations_table)
            .where(integrations_table.c.id == linked)
            .values(status=IntegrationStatus.NEEDS_ATTENTION.value)
        )
    admin = people(app, f)["admin"]
    page = admin.get("/clients")
    assert page.status_code == 200
    assert table_names(page.text) == ["Client 0", "Client 1", "Client 2"]
    assert "0403.170.701" in page.text and "C001" in page.text
    assert "No integrations" in page.text and "All delivered" in page.text
    assert "1 integration needs attention" in page.text
    assert 'href="/clients/new"' in page.text
    assert "3 clients" in page.text

    attention = admin.get("/clients?health=attention")
    assert table_names(attention.text) == ["Client 1"]


def test_search_and_status_filters_work_as_a_plain_form_and_by_htmx(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    pid = f.partner_id
    clients.create_client(app, pid, "Bakkerij Peeters", vat_number="BE0417497106")
    gone = clients.create_client(app, pid, "Bakkerij Gesloten", status=ClientStatus.ACTIVE)
    clients.change_status(app, pid, gone.id, ClientStatus.ARCHIVED)
    admin = people(app, f)["admin"]

    assert table_names(admin.get("/clients?q=BAKKERIJ").text) == ["Bakkerij Peeters"]
    assert table_names(admin.get("/clients?q=0417.497.106").text) == ["Bakkerij Peeters"]
    assert table_names(admin.get("/clients?q=c001").text) == ["Client 1"]
    archived = admin.get("/clients?q=bakkerij&status=archived").text
    assert table_names(archived) == ["Bakkerij Gesloten"]
    assert len(table_names(admin.get("/clients?status=all").text)) == 4
    assert table_names(admin.get("/clients?status=inactive").text) == ["Bakkerij Peeters"]
    assert "No client matches these filters." in admin.get("/clients?q=nothing").text

    full = admin.get("/clients")
    assert 'hx-get="/clients"' in full.text and 'hx-target="#client-table"' in full.text
    assert 'hx-push-url="true"' in full.text and 'method="get"' in full.text
    partial = admin.htmx("GET", "/clients?q=peeters")
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<form" not in partial.text
    assert table_names(partial.text) == ["Bakkerij Peeters"]
    restore = admin.client.get(
        "/clients?q=peeters", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text, "a history restore gets the whole page"


def test_pages_of_fifty_with_previous_next_and_the_total(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    bulk_clients(app, f.partner_id, 119, prefix="Zeta")
    admin = people(app, f)["admin"]
    first = admin.get("/clients")
    assert len(table_names(first.text)) == 50
    assert "120 clients" in first.text and "Page 1 of 3" in first.text
    assert 'href="/clients?page=2"' in first.text and "Previous</a>" not in first.text
    last = admin.get("/clients?page=3")
    assert len(table_names(last.text)) == 20 and "Next</a>" not in last.text
    assert 'href="/clients?page=2"' in last.text
    filtered = admin.get("/clients?q=zeta&page=2")
    assert 'href="/clients?q=zeta&amp;page=3"' in filtered.text
    assert admin.get("/clients?page=banana").status_code == 200


def test_the_list_costs_a_bounded_number_of_statements_with_a_thousand_clients(app: App) -> None:
    f = firm(app, n_clients=3)
    inst = installations.install(app, f.partner_id, "sftp", "SFTP", SFTP_VALUES).id
    integrations.add(app, f.partner_id, f.clients[0].id, inst, {})
    admin = people(app, f)["admin"]
    few = count_statements(app, lambda: admin.get("/clients"))
    bulk_clients(app, f.partner_id, 1000)
    statements: list[str] = []
    many = count_statements(app, lambda: admin.get("/clients"), statements)
    assert many <= 11, (
        statements
    )  # the session, the user, the page, its health, the header's unread count
    assert many == few, "the number of statements does not grow with the clients"
    assert len(table_names(admin.get("/clients").text)) == 50


def test_adding_a_client_checks_numbers_next_to_their_fields(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    admin = people(app, f)["admin"]
    form = admin.get("/clients/new")
    assert form.status_code == 200 and 'name="uen_number"' in form.text
    refused = admin.post(
        "/clients/new",
        {"name": "Nieuw BV", "uen_number": "0403.170.702", "vat_number": "", "status": "draft"},
    )
    assert refused.status_code == 400
    assert re.search(r'id="f-uen_number"[^>]*aria-invalid="true"', refused.text, re.S)
    assert 'id="f-uen_number-error"' in refused.text and "not a valid enterprise number" in (
        refused.text
    )
    assert 'value="Nieuw BV"' in refused.text, "what was typed stays"
    vat = admin.post("/clients/new", {"name": "Nieuw BV", "vat_number": "12345"})
    assert vat.status_code == 400 and 'id="f-vat_number-error"' in vat.text
    empty = admin.post("/clients/new", {"name": " "})
    assert empty.status_code == 400 and 'id="f-name-error"' in empty.text
    assert admin.post("/clients/new", {"name": "X", "status": "archived"}).status_code == 400
    assert clients.client_page(app, f.partner_id).total == 1, "nothing saved"

    added = admin.post(
        "/clients/new",
        {
            "name": "Nieuw BV",
            "uen_number": "0403.170.701",
            "vat_number": "be0403170701",
            "external_ref": "N-1",
            "status": "active",
        },
    )
    assert added.status_code == 200 and "<h1>Nieuw BV</h1>" in added.text
    made = clients.client_page(app, f.partner_id, clients.ClientFilter("nieuw")).clients[0]
    assert (made.uen_number, made.vat_number, made.status) == (
        "0403170701",
        "BE0403170701",
        ClientStatus.ACTIVE,
    )


def test_editing_a_client(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid = f.partner_id
    draft = clients.create_client(app, pid, "Concept BV")
    admin = people(app, f)["admin"]
    form = admin.get(f"/clients/{draft.id}/edit")
    assert form.status_code == 200 and 'value="Concept BV"' in form.text
    assert 'value="invited"' in form.text and 'value="archived"' not in form.text
    bad = admin.post(f"/clients/{draft.id}/edit", {"name": "Concept BV", "external_ref": "a/b"})
    assert bad.status_code == 400 and 'id="f-external_ref-error"' in bad.text
    assert clients.get_client(app, pid, draft.id).external_ref == ""
    done = admin.post(
        f"/clients/{draft.id}/edit",
        {"name": "Actief BV", "external_ref": "A-1", "status": "active"},
    )
    assert done.status_code == 200 and "<h1>Actief BV</h1>" in done.text
    changed = clients.get_client(app, pid, draft.id)
    assert (changed.name, changed.external_ref, changed.status) == (
        "Actief BV",
        "A-1",
        ClientStatus.ACTIVE,
    )


def test_archiving_asks_first_and_disconnects_the_integrations(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    for name in ("One", "Two"):
        inst = installations.install(app, pid, "sftp", name, SFTP_VALUES).id
        integrations.add(app, pid, cid, inst, {})
    admin = people(app, f)["admin"]
    page = admin.get(f"/clients/{cid}")
    assert f'href="/clients/{cid}/archive"' in page.text
    confirm = admin.get(f"/clients/{cid}/archive")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.text and "Its 2 integrations will be disconnected" in (
        confirm.text
    )
    assert clients.get_client(app, pid, cid).status is ClientStatus.ACTIVE, "a GET changes nothing"
    done = admin.post(f"/clients/{cid}/archive")
    assert done.status_code == 200 and "Archived" in done.text
    assert clients.get_client(app, pid, cid).status is ClientStatus.ARCHIVED
    statuses = {i.status for i in integrations.list_integrations(app, pid, cid)}
    assert statuses == {IntegrationStatus.DISCONNECTED}
    assert f'href="/clients/{cid}/archive"' not in admin.get(f"/clients/{cid}/team").text
    assert admin.post(f"/clients/{cid}/archive").status_code == 409


def test_an_accountant_with_view_sees_the_client_and_cannot_change_it(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    pid, cid = f.partner_id, f.clients[0].id
    viewer = people(app, f)["viewer"]
    listed = viewer.get("/clients")
    assert table_names(listed.text) == ["Client 0"] and "Client 1" not in listed.text
    assert 'href="/clients/new"' not in listed.text
    page = viewer.get(f"/clients/{cid}")
    assert page.status_code == 200 and f"/clients/{cid}/edit" not in page.text
    assert f"/clients/{cid}/archive" not in page.text
    for url in ("/clients/new", f"/clients/{cid}/edit", f"/clients/{cid}/archive"):
        assert viewer.get(url).status_code == 404, url
    assert viewer.post(f"/clients/{cid}/edit", {"name": "Changed"}).status_code == 403
    assert viewer.post(f"/clients/{cid}/archive").status_code == 403
    assert viewer.post("/clients/new", {"name": "Mine"}).status_code == 403
    client = clients.get_client(app, pid, cid)
    assert (client.name, client.status) == ("Client 0", ClientStatus.ACTIVE)
    assert clients.client_page(app, pid).total == 2


def test_an_accountant_not_assigned_gets_not_found_on_every_client_url(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    cid = f.clients[0].id
    nobody = people(app, f)["nobody"]
    listed = nobody.get("/clients")
    assert (
        listed.status_code == 200 and "Client 0" not in listed.text and "0 clients" in listed.text
    )
    for tail in ("", "/documents", "/team", "/edit", "/archive", "/documents?folder=other"):
        assert nobody.get(f"/clients/{cid}{tail}").status_code == 404, tail
    assert nobody.get("/clients/999999").status_code == 404
    assert nobody.post(f"/clients/{cid}/archive").status_code == 403
    assert clients.get_client(app, f.partner_id, cid).status is ClientStatus.ACTIVE


def test_a_client_manager_manages_clients_but_sees_no_documents(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=2)
    cid = f.clients[0].id
    manager = people(app, f)["manager"]
    listed = manager.get("/clients")
    assert table_names(listed.text) == ["Client 0", "Client 1"]
    assert "All delivered" not in listed.text and 'name="health"' not in listed.text
    assert 'href="/clients/new"' in listed.text
    landing = manager.get(f"/clients/{cid}")
    assert landing.status_code == 200 and str(landing.url).endswith(f"/clients/{cid}/team")
    assert f'href="/clients/{cid}/documents"' not in landing.text
    assert f'href="/clients/{cid}/edit"' in landing.text
    assert manager.get(f"/clients/{cid}/documents").status_code == 404
    assert manager.post(f"/clients/{cid}/edit", {"name": "Renamed"}).status_code == 200
    assert clients.get_client(app, f.partner_id, cid).name == "Renamed"


def test_a_script_in_a_client_name_is_shown_as_text(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    evil = clients.create_client(app, f.partner_id, f"Evil {XSS}")
    admin = people(app, f)["admin"]
    for url in (
        "/clients",
        "/clients?q=evil",
        f"/clients/{evil.id}/team",
        f"/clients/{evil.id}/documents",
        f"/clients/{evil.id}/edit",
        f"/clients/{evil.id}/archive",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert XSS not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, url
    refused = admin.post("/clients/new", {"name": XSS, "vat_number": "nope"})
    assert XSS not in refused.text


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    admin = people(app, f)["admin"]
    assert admin.client.post("/clients/new", data={"name": "Sneaky"}).status_code == 403
    assert admin.client.post(f"/clients/{cid}/edit", data={"name": "Sneaky"}).status_code == 403
    assert admin.client.post(f"/clients/{cid}/archive").status_code == 403
    forged = {"csrf_token": "forged", "name": "Sneaky"}
    assert admin.client.post(f"/clients/{cid}/edit", data=forged).status_code == 403
    client = clients.get_client(app, pid, cid)
    assert (client.name, client.status) == ("Client 0", ClientStatus.ACTIVE)
    assert clients.client_page(app, pid).total == 1


def test_business_users_have_no_partner_space_client_pages(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    cid = f.clients[0].id
    web_user(app, f.partner_id, "owner@client.be", Role.BUSINESS, client_id=cid)
    owner = Browser(app)
    owner.get("/signin")  # not signed_in(): the business space (/business) is not built here
    owner.post("/signin", {"email": "owner@client.be", "password": WEB_PASSWORD, "next": "/x"})
    for url in ("/clients", f"/clients/{cid}", f"/clients/{cid}/documents", f"/clients/{cid}/team"):
        assert owner.client.get(url, follow_redirects=False).status_code == 404, url


def bulk_clients(app: App, partner_id: int, n: int, prefix: str = "Bulk") -> None:
    """Many clients in one statement (the services would take a transaction each)."""
    now = utcnow()
    rows = [
        {
            "partner_id": partner_id,
            "name": f"{prefix} {i:04d}",
            "external_ref": f"B{i}",
            "status": ClientStatus.ACTIVE.value,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    with transaction(app.engine) as conn:
        conn.execute(insert(clients_table), rows)


def count_statements(app: App, action: Any, seen: list[str] | None = None) -> int:
    """The SQL statements the action sends to the database."""
    sent: list[str] = [] if seen is None else seen

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        response = action()
        assert response.status_code == 200
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
    return len(sent)
