"""Clients: editing one, the list page with its integration health, archiving's preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.health import ClientHealth, Health
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import clients, installations, integrations
from passeur.services.clients import ClientFilter
from passeur.storage.db import transaction
from passeur.storage.tables import exports
from passeur.storage.tables import integrations as integrations_table
from tests.factories import approve_invoices, firm, person

SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}


def test_update_client_changes_details_and_status_all_or_nothing(app: App) -> None:
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    draft = clients.create_client(app, pid, "Draft NV")
    changed = clients.update_client(
        app,
        pid,
        draft.id,
        " Renamed NV ",
        uen_number="0403.170.701",
        vat_number="be 0403 170 701",
        external_ref="R-1",
        status=ClientStatus.ACTIVE,
    )
    assert (changed.name, changed.uen_number, changed.vat_number) == (
        "Renamed NV",
        "0403170701",
        "BE0403170701",
    )
    assert (changed.external_ref, changed.status) == ("R-1", ClientStatus.ACTIVE)

    with pytest.raises(InvalidInput) as bad:
        clients.update_client(app, pid, cid, "Client 0", vat_number="BE0403170702")
    assert bad.value.field == "vat_number"
    with pytest.raises(Conflict):  # an active client cannot go back to draft
        clients.update_client(app, pid, cid, "Other name", status=ClientStatus.DRAFT)
    assert clients.get_client(app, pid, cid).name == "Client 0", "nothing saved"

    clients.change_status(app, pid, cid, ClientStatus.ARCHIVED)
    with pytest.raises(Conflict):
        clients.update_client(app, pid, cid, "Back again")


def test_each_field_error_names_its_field(app: App) -> None:
    pid = firm(app, n_clients=0).partner_id
    cases = {
        "name": {"name": "  "},
        "uen_number": {"uen_number": "0403170702"},
        "vat_number": {"vat_number": "12345"},
        "external_ref": {"external_ref": "../x"},
    }
    for field, values in cases.items():
        arguments = {"name": "A client", **values}
        with pytest.raises(InvalidInput) as refused:
            clients.create_client(app, pid, **arguments)  # type: ignore[arg-type]
        assert refused.value.field == field
    assert clients.client_page(app, pid).total == 0


def test_only_client_managers_and_administrators_update_clients(app: App) -> None:
    f = firm(app, n_clients=2)
    pid, (mine, other) = f.partner_id, [c.id for c in f.clients]
    manager = person(app, pid, "cm@firm.be", Role.CLIENT_MANAGER)
    editor = person(app, pid, "ed@firm.be", Role.ACCOUNTANT, assign={mine: Access.EDIT})
    assert clients.update_client(app, pid, other, "By the manager", actor=manager).name == (
        "By the manager"
    )
    with pytest.raises(Forbidden):
        clients.update_client(app, pid, mine, "By the accountant", actor=editor)
    stranger = person(app, firm(app, 1, "Other firm").partner_id, "x@o.be", Role.ADMINISTRATOR)
    with pytest.raises(NotFound):
        clients.update_client(app, pid, mine, "From another firm", actor=stranger)
    assert clients.get_client(app, pid, mine).name == "Client 0"


def test_the_page_counts_health_in_one_go_and_filters_by_it(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=4)
    pid = f.partner_id
    ids = [c.id for c in f.clients]
    inst = installations.install(app, pid, "sftp", "SFTP", SFTP_VALUES).id
    linked = [integrations.add(app, pid, cid, inst, {}).id for cid in ids[:3]]
    approve_invoices(app, f, shared_data, 2, client=0)  # two exports waiting
    approve_invoices(app, f, shared_data, 1, client=1)  # one export, made to fail
    with transaction(app.engine) as conn:
        conn.execute(
            update(exports).where(exports.c.integration_id == linked[1]).values(state="failed")
        )
        conn.execute(
            update(integrations_table)
            .where(integrations_table.c.id == linked[2])
            .values(status=IntegrationStatus.NEEDS_ATTENTION.value)
        )

    page = clients.client_page(app, pid)
    assert page.total == 4 and page.health is not None
    assert page.health[ids[0]] == ClientHealth(integrations=1, waiting=2)
    assert page.health[ids[1]] == ClientHealth(integrations=1, failing=1)
    assert page.health[ids[2]] == ClientHealth(integrations=1, integrations_needing_attention=1)
    assert page.health[ids[3]] == ClientHealth()
    expected = {
        Health.WAITING: [ids[0]],
        Health.NEEDS_ATTENTION: [ids[1], ids[2]],
        Health.NO_INTEGRATIONS: [ids[3]],
        Health.DELIVERED: [],
    }
    for health, wanted in expected.items():
        found = clients.client_page(app, pid, ClientFilter(health=health))
        assert [c.id for c in found.clients] == wanted, health
        assert all(found.health[c].health is health for c in wanted)  # type: ignore[index]

    with transaction(app.engine) as conn:
        conn.execute(update(exports).values(state="delivered"))
    assert clients.client_page(app, pid).health[ids[0]].health is Health.DELIVERED  # type: ignore[index]


def test_search_status_and_pages(app: App) -> None:
    pid = firm(app, n_clients=0).partner_id
    for i in range(7):
        clients.create_client(app, pid, f"Bakery {i}", external_ref=f"B-{i}")
    clients.create_client(
        app, pid, "Studio 100%", uen_number="0403170701", vat_number="BE0202239951"
    )
    gone = clients.create_client(app, pid, "Old Bakery", status=ClientStatus.ACTIVE)
    clients.change_status(app, pid, gone.id, ClientStatus.ARCHIVED)

    def names(f: ClientFilter, **kw: int) -> list[str]:
        return [c.name for c in clients.client_page(app, pid, f, **kw).clients]

    assert names(ClientFilter("bakery"))[:2] == ["Bakery 0", "Bakery 1"]
    assert len(names(ClientFilter("BAKERY"))) == 8
    assert names(ClientFilter("0403.170.701")) == ["Studio 100%"]
    assert names(ClientFilter("be 0202 239 951")) == ["Studio 100%"]
    assert names(ClientFilter("b-3")) == ["Bakery 3"]
    assert names(ClientFilter("100%")) == ["Studio 100%"]
    assert names(ClientFilter("%")) == ["Studio 100%"], "% is a character, not a wildcard"
    assert names(ClientFilter("_")) == []
    living = (ClientStatus.DRAFT, ClientStatus.INVITED, ClientStatus.ACTIVE)
    assert "Old Bakery" not in names(ClientFilter("bakery", living))
    assert names(ClientFilter("bakery", (ClientStatus.ARCHIVED,))) == ["Old Bakery"]

    first = clients.client_page(app, pid, offset=0, limit=3)
    last = clients.client_page(app, pid, offset=6, limit=3)
    beyond = clients.client_page(app, pid, offset=30, limit=3)
    assert (first.total, last.total, beyond.total) == (9, 9, 9)
    assert [c.name for c in last.clients] == ["Bakery 6", "Old Bakery", "Studio 100%"]
    assert beyond.clients == []


def test_the_page_shows_only_what_the_actor_may_see(app: App) -> None:
    f = firm(app, n_clients=3)
    pid, ids = f.partner_id, [c.id for c in f.clients]
    viewer = person(app, pid, "v@firm.be", Role.ACCOUNTANT, assign={ids[1]: Access.VIEW})
    nobody = person(app, pid, "n@firm.be", Role.ACCOUNTANT)
    manager = person(app, pid, "m@firm.be", Role.CLIENT_MANAGER)
    assert [c.id for c in clients.client_page(app, pid, actor=viewer).clients] == [ids[1]]
    assert clients.client_page(app, pid, actor=nobody).total == 0
    managed = clients.client_page(app, pid, ClientFilter(health=Health.WAITING), actor=manager)
    assert managed.total == 3 and managed.health is None, "no integration data, no filter on it"


def test_archiving_preview_counts_integrations_it_disconnects(app: App) -> None:
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    for name in ("One", "Two"):
        inst = installations.install(app, pid, "sftp", name, SFTP_VALUES).id
        integrations.add(app, pid, cid, inst, {})
    viewer = person(app, pid, "v@firm.be", Role.ACCOUNTANT, assign={cid: Access.EDIT})
    assert clients.integrations_to_disconnect(app, pid, cid) == 2
    with pytest.raises(Forbidden):
        clients.integrations_to_disconnect(app, pid, cid, actor=viewer)
    clients.change_status(app, pid, cid, ClientStatus.ARCHIVED)
    assert clients.integrations_to_disconnect(app, pid, cid) == 0
