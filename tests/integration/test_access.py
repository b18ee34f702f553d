"""Who may do what, through the services, on SQLite and PostgreSQL; a refusal changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Actor
from passeur.domain.documents import AccountingStatus, DocumentKind, Lifecycle
from passeur.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import (
    actors,
    clients,
    documents,
    exports,
    installations,
    intake,
    integrations,
    partners,
)
from passeur.storage.db import reading, transaction
from passeur.storage.repositories.exports import ExportFilter
from passeur.storage.tables import exports as exports_table
from passeur.storage.tables import metadata
from tests.factories import firm, person

PURCHASE = "ubl/peppol-base-example.xml"
SALES = "ubl/odoo-BEG-testcase01_minimal_invoice.xml"
PURCHASE_KIND = DocumentKind.PURCHASE_INVOICE
# Never stored by world(): a refused upload of it would leave a new blob behind.
UNSEEN = "ubl/peppol-vat-category-Z.xml"
SFTP_VALUES = {"host": "127.0.0.1", "username": "firm", "password": "not-used-here"}


@dataclass
class World:
    """A firm with two clients, each with an integration, one released purchase invoice
    (hence one export), one purchase invoice waiting for approval and one sales invoice
    waiting to be sent."""

    partner_id: int
    clients: list[int]
    installation: int
    integrations: list[int]
    released: list[int]
    to_approve: list[int]
    to_send: list[int]
    exports: list[int]


def world(app: App, data: Path, name: str = "Firm") -> World:
    f = firm(app, n_clients=2, name=name)
    inst = installations.install(app, f.partner_id, "sftp", "SFTP", SFTP_VALUES).id
    ids = [c.id for c in f.clients]
    made = World(f.partner_id, ids, inst, [], [], [], [], [])
    for client_id in ids:
        made.integrations.append(integrations.add(app, f.partner_id, client_id, inst, {}).id)
        released = upload(
            app, f.partner_id, client_id, data, PURCHASE, DocumentKind.PURCHASE_INVOICE
        )
        documents.approve(app, f.partner_id, released)
        made.released.append(released)
        made.to_approve.append(
            upload(app, f.partner_id, client_id, data, PURCHASE, DocumentKind.PURCHASE_INVOICE)
        )
        made.to_send.append(
            upload(app, f.partner_id, client_id, data, SALES, DocumentKind.SALES_INVOICE)
        )
        [row] = exports.list_exports(app, f.partner_id, ExportFilter(document_id=released))
        made.exports.append(row["export"].id)
    return made


def upload(
    app: App,
    partner_id: int,
    client_id: int,
    data: Path,
    name: str,
    kind: DocumentKind,
    actor: Actor = OPERATOR,
) -> int:
    source = data / name
    return intake.upload(
        app, partner_id, client_id, source.name, source.read_bytes(), kind=kind, actor=actor
    ).id


def snapshot(app: App) -> dict[str, Any]:
    """Every row of every table, and the stored blobs: what a refusal must leave alone."""
    with reading(app.engine) as conn:
        state: dict[str, Any] = {
            table.name: sorted(map(repr, conn.execute(select(table))))
            for table in metadata.sorted_tables
        }
    blobs = app.settings.data_dir / "blobs"
    state["blobs"] = sorted(str(p) for p in blobs.rglob("*")) if blobs.exists() else []
    return state


def refused(
    app: App, call: Callable[[], object], error: type[DomainError], match: str | None = None
) -> None:
    before = snapshot(app)
    with pytest.raises(error, match=match):
        call()
    assert snapshot(app) == before, "a refusal changed something"


def fail(app: App, export_id: int) -> None:
    with transaction(app.engine) as conn:
        conn.execute(
            update(exports_table)
            .where(exports_table.c.id == export_id)
            .values(state=ExportState.FAILED.value, last_error="refused")
        )


def test_a_business_user_uploads_approves_and_sends_for_their_client(
    app: App, shared_data: Path
) -> None:
    w = world(app, shared_data)
    mine = w.clients[0]
    me = person(app, w.partner_id, "anna@bakkerij.be", Role.BUSINESS, client_id=mine)

    purchase = upload(
        app, w.partner_id, mine, shared_data, PURCHASE, DocumentKind.PURCHASE_INVOICE, me
    )
    sale = upload(app, w.partner_id, mine, shared_data, SALES, DocumentKind.SALES_INVOICE, me)
    assert documents.approve(app, w.partner_id, purchase, actor=me).lifecycle is Lifecycle.APPROVED
    assert documents.send(app, w.partner_id, sale, actor=me).lifecycle is Lifecycle.SENT
    assert documents.approve(app, w.partner_id, w.to_approve[0], actor=me).released_at

    # Each release made its export to the client's integration (seen by the operator).
    sent = {r["export"].document_id for r in exports.list_exports(app, w.partner_id)}
    assert {purchase, sale, w.to_approve[0]} <= sent
    # The user sees their client, its documents and their accounting status, nothing else.
    assert [c.id for c in clients.list_clients(app, w.partner_id, actor=me)] == [mine]
    seen = documents.list_documents(app, w.partner_id, actor=me)
    assert {d.client_id for d in seen} == {mine} and len(seen) == 5
    assert documents.get(app, w.partner_id, sale, actor=me).accounting_status is (
        AccountingStatus.QUEUED
    )
    assert clients.get_client(app, w.partner_id, mine, actor=me).id == mine


def test_a_business_user_cannot_reach_another_client(app: App, shared_data: Path) -> None:
    w = world(app, shared_data)
    mine, theirs = w.clients
    me = person(app, w.partner_id, "anna@bakkerij.be", Role.BUSINESS, client_id=mine)
    pid = w.partner_id
    data = (shared_data / UNSEEN).read_bytes()
    # Outside a business user's world, rows do not exist for them.
    for call in [
        lambda: intake.upload(app, pid, theirs, "x.xml", data, kind=PURCHASE_KIND, actor=me),
        lambda: documents.approve(app, pid, w.to_approve[1], actor=me),
        lambda: documents.send(app, pid, w.to_send[1], actor=me),
        lambda: documents.get(app, pid, w.released[1], actor=me),
        lambda: documents.list_documents(app, pid, theirs, actor=me),
        lambda: clients.get_client(app, pid, theirs, actor=me),
    ]:
        refused(app, call, NotFound, "does not exist")
    assert documents.get(app, pid, w.to_approve[1]).lifecycle is Lifecycle.RECEIVED
    # Sending a purchase invoice stays refused for its own rule, not for access.
    refused(app, lambda: documents.send(app, pid, w.to_approve[0], actor=me), Conflict)


Calls = list[tuple[str, Callable[[], object]]]
# Calls that name no row: in the actor's own partner they act on its own rows.
NAMING_NO_ROW = {"installations.install", "exports.retry_matching"}


def partner_space_calls(app: App, w: World, actor: Actor, pid: int | None = None) -> Calls:
    """Every installation, integration and export call, and the accountant's document calls,
    on the world's first client (in partner `pid`, by default the world's)."""
    pid = w.partner_id if pid is None else pid
    client, integration, export = w.clients[0], w.integrations[0], w.exports[0]
    inst = w.installation
    return [
        ("installations.list", lambda: installations.list_installations(app, pid, actor=actor)),
        ("installations.get", lambda: installations.get(app, pid, inst, actor=actor)),
        (
            "installations.install",
            lambda: installations.install(app, pid, "sftp", "x", SFTP_VALUES, actor=actor),
        ),
        (
            "installations.update",
            lambda: installations.update(app, pid, inst, {"host": "example.be"}, actor=actor),
        ),
        (
            "installations.deactivate",
            lambda: installations.set_active(app, pid, inst, False, actor=actor),
        ),
        (
            "installations.check",
            lambda: asyncio.run(installations.check(app, pid, inst, actor=actor)),
        ),
        ("integrations.list", lambda: integrations.list_integrations(app, pid, actor=actor)),
        (
            "integrations.list of the client",
            lambda: integrations.list_integrations(app, pid, client, actor=actor),
        ),
        ("integrations.get", lambda: integrations.get(app, pid, integration, actor=actor)),
        (
            "integrations.add",
            lambda: integrations.add(app, pid, client, inst, {}, actor=actor),
        ),
        (
            "integrations.update",
            lambda: integrations.update(app, pid, integration, {"upload_path": "/x"}, actor=actor),
        ),
        ("integrations.pause", lambda: integrations.pause(app, pid, integration, actor=actor)),
        ("integrations.resume", lambda: integrations.resume(app, pid, integration, actor=actor)),
        ("exports.list", lambda: exports.list_exports(app, pid, actor=actor)),
        (
            "exports.list of the client",
            lambda: exports.list_exports(app, pid, ExportFilter(client_id=client), actor=actor),
        ),
        ("exports.get", lambda: exports.get(app, pid, export, actor=actor)),
        ("exports.retry", lambda: exports.retry(app, pid, export, actor=actor)),
        (
            "exports.retry_matching",
            lambda: exports.retry_matching(app, pid, ExportFilter(), confirm=True, actor=actor),
        ),
        (
            "documents.mark_processed",
            lambda: documents.mark_processed(app, pid, [w.released[0]], actor=actor),
        ),
        ("documents.resend", lambda: documents.resend(app, pid, w.released[0], actor=actor)),
    ]


def test_a_business_user_cannot_see_installations_integrations_or_exports(
    app: App, shared_data: Path
) -> None:
    w = world(app, shared_data)
    fail(app, w.exports[0])  # retryable, so only access can refuse the retry
    me = person(app, w.partner_id, "anna@bakkerij.be", Role.BUSINESS, client_id=w.clients[0])
    for name, call in partner_space_calls(app, w, me):
        before = snapshot(app)
        with pytest.raises(Forbidden) as refusal:
            call()
        assert snapshot(app) == before, f"{name} changed something"
        assert str(refusal.value).startswith("business users cannot"), name


def test_an_accountant_sees_only_the_clients_assigned_to_them(app: App, shared_data: Path) -> None:
    w = world(app, shared_data)
    pid, (mine, other) = w.partner_id, w.clients
    me = person(app, pid, "ada@firm.be", Role.ACCOUNTANT, assign={mine: Access.EDIT})

    assert [c.id for c in clients.list_clients(app, pid, actor=me)] == [mine]
    assert {d.client_id for d in documents.list_documents(app, pid, actor=me)} == {mine}
    assert [r["client_id"] for r in exports.list_exports(app, pid, actor=me)] == [mine]
    assert [i.client_id for i in integrations.list_integrations(app, pid, actor=me)] == [mine]
    # The integration's status and export states are theirs to read, not to change.
    integration = integrations.get(app, pid, w.integrations[0], actor=me)
    assert integration.status is IntegrationStatus.ACTIVE and "password" not in integration.config
    export, _ = exports.get(app, pid, w.exports[0], actor=me)
    assert export.state is ExportState.PENDING
    # A client of the firm not assigned to them: forbidden, and said so.
    for call in [
        lambda: documents.get(app, pid, w.released[1], actor=me),
        lambda: documents.list_documents(app, pid, other, actor=me),
        lambda: documents.mark_processed(app, pid, [w.released[0], w.released[1]], actor=me),
        lambda: exports.get(app, pid, w.exports[1], actor=me),
        lambda: exports.list_exports(app, pid, ExportFilter(client_id=other), actor=me),
        lambda: integrations.get(app, pid, w.integrations[1], actor=me),
        lambda: clients.get_client(app, pid, other, actor=me),
        lambda: upload(app, pid, other, shared_data, UNSEEN, PURCHASE_KIND, me),
    ]:
        refused(app, call, Forbidden, f"user ada@firm.be is not assigned to client {other}")


def test_an_accountant_with_edit_access_processes_resends_and_retries(
    app: App, shared_data: Path
) -> None:
    w = world(app, shared_data)
    pid, mine = w.partner_id, w.clients[0]
    me = person(app, pid, "ada@firm.be", Role.ACCOUNTANT, assign={mine: Access.EDIT})
    fail(app, w.exports[0])
    fail(app, w.exports[1])

    assert exports.retry_matching(app, pid, ExportFilter(), confirm=True, actor=me) == 1
    states = {r["export"].id: r["export"].state for r in exports.list_exports(app, pid)}
    assert states[w.exports[0]] is ExportState.PENDING  # theirs, queued again
    assert states[w.exports[1]] is ExportState.FAILED  # the other client's, untouched
    fail(app, w.exports[0])
    assert exports.retry(app, pid, w.exports[0], actor=me).state is ExportState.PENDING
    assert len(documents.resend(app, pid, w.released[0], actor=me)) == 1
    documents.mark_processed(app, pid, [w.released[0]], actor=me)
    assert documents.get(app, pid, w.released[0]).accounting_status is AccountingStatus.PROCESSED
    uploaded = upload(app, pid, mine, shared_data, PURCHASE, PURCHASE_KIND, me)
    # Approving stays the client's act, even for an accountant with edit access.
    refused(
        app,
        lambda: documents.approve(app, pid, uploaded, actor=me),
        Forbidden,
        r"\(accountant\) cannot approve or send documents",
    )


def test_view_access_is_read_only(app: App, shared_data: Path) -> None:
    w = world(app, shared_data)
    pid, mine = w.partner_id, w.clients[0]
    me = person(app, pid, "vic@firm.be", Role.ACCOUNTANT, assign={mine: Access.VIEW})
    fail(app, w.exports[0])

    assert {d.client_id for d in documents.list_documents(app, pid, actor=me)} == {mine}
    assert exports.get(app, pid, w.exports[0], actor=me)[0].state is ExportState.FAILED
    assert [i.id for i in integrations.list_integrations(app, pid, actor=me)] == [w.integrations[0]]
    for call in [
        lambda: documents.mark_processed(app, pid, [w.released[0]], actor=me),
        lambda: documents.resend(app, pid, w.released[0], actor=me),
        lambda: exports.retry(app, pid, w.exports[0], actor=me),
        lambda: exports.retry_matching(
            app, pid, ExportFilter(client_id=mine), confirm=True, actor=me
        ),
        lambda: upload(app, pid, mine, shared_data, UNSEEN, PURCHASE_KIND, me),
    ]:
        refused(app, call, Forbidden, f"vic@firm.be has view access to client {mine}")
    # Without a client named, a bulk retry finds nothing they may retry.
    before = snapshot(app)
    assert exports.retry_matching(app, pid, ExportFilter(), confirm=True, actor=me) == 0
    assert snapshot(app) == before


def test_a_client_manager_manages_clients_and_teams_but_sees_no_documents(
    app: App, shared_data: Path
) -> None:
    w = world(app, shared_data)
    pid = w.partner_id
    cm = person(app, pid, "cleo@firm.be", Role.CLIENT_MANAGER)
    ada = partners.add_user(app, pid, "ada@firm.be", "Ada", {Role.ACCOUNTANT})

    new = clients.create_client(app, pid, "Nieuw BV", actor=cm)
    assert {c.id for c in clients.list_clients(app, pid, actor=cm)} == {*w.clients, new.id}
    clients.change_status(app, pid, new.id, ClientStatus.INVITED, actor=cm)
    partners.assign(app, pid, ada.id, new.id, Access.EDIT, actor=cm)
    boss = partners.add_user(
        app, pid, "boss@nieuw.be", "", {Role.BUSINESS}, client_id=new.id, actor=cm
    )
    assert boss.client_id == new.id and boss.is_business
    assert {u.email for u in partners.list_users(app, pid, actor=cm)} >= {"boss@nieuw.be"}

    for call, what in [
        (lambda: documents.list_documents(app, pid, actor=cm), "see documents"),
        (lambda: documents.get(app, pid, w.released[0], actor=cm), "see documents"),
        (lambda: exports.list_exports(app, pid, actor=cm), "see exports"),
        (lambda: integrations.list_integrations(app, pid, actor=cm), "see integrations"),
        (lambda: installations.list_installations(app, pid, actor=cm), "see installations"),
        (
            lambda: integrations.add(app, pid, new.id, w.installation, {}, actor=cm),
            "manage integrations",
        ),
        (
            lambda: partners.add_user(app, pid, "x@firm.be", "", {Role.ADMINISTRATOR}, actor=cm),
            "manage users",
        ),
    ]:
        refused(app, call, Forbidden, rf"cleo@firm.be \(client manager\) cannot {what}")


def test_a_new_user_sees_nothing_until_assigned_and_stops_when_unassigned(
    app: App, shared_data: Path
) -> None:
    w = world(app, shared_data)
    pid, mine = w.partner_id, w.clients[0]
    user = partners.add_user(app, pid, "new@firm.be", "", {Role.ACCOUNTANT})
    newcomer = actors.for_user(app, user.id)
    assert clients.list_clients(app, pid, actor=newcomer) == []
    assert documents.list_documents(app, pid, actor=newcomer) == []
    assert exports.list_exports(app, pid, actor=newcomer) == []
    assert integrations.list_integrations(app, pid, actor=newcomer) == []

    partners.assign(app, pid, user.id, mine, Access.VIEW)
    assigned = actors.for_user(app, user.id)
    assert len(documents.list_documents(app, pid, actor=assigned)) == 3
    partners.unassign(app, pid, user.id, mine)
    assert documents.list_documents(app, pid, actor=actors.for_user(app, user.id)) == []
    with pytest.raises(NotFound, match="is not assigned"):
        partners.unassign(app, pid, user.id, mine)


def test_administrators_manage_integrations_and_see_everything(app: App, shared_data: Path) -> None:
    w = world(app, shared_data)
    pid = w.partner_id
    admin = person(app, pid, "ad@firm.be", Role.ADMINISTRATOR)  # assigned to nothing
    assert len(documents.list_documents(app, pid, actor=admin)) == 6
    assert len(exports.list_exports(app, pid, actor=admin)) == 2
    integrations.pause(app, pid, w.integrations[0], actor=admin)
    inst = installations.install(app, pid, "sftp", "Second", SFTP_VALUES, actor=admin)
    assert (
        integrations.add(app, pid, w.clients[0], inst.id, {}, actor=admin).client_id
        == (w.clients[0])
    )
    installations.set_active(app, pid, inst.id, False, actor=admin)
    documents.mark_processed(app, pid, [w.released[1]], actor=admin)
    someone = partners.add_user(app, pid, "ben@firm.be", "", {Role.ACCOUNTANT}, actor=admin)
    partners.assign(app, pid, someone.id, w.clients[1], Access.VIEW, actor=admin)
    # Approving is the client's own act, even for the firm's administrator.
    refused(
        app,
        lambda: documents.approve(app, pid, w.to_approve[0], actor=admin),
        Forbidden,
        "cannot approve",
    )


def test_accountants_cannot_configure_integrations(app: App, shared_data: Path) -> None:
    w = world(app, shared_data)
    pid, mine = w.partner_id, w.clients[0]
    me = person(app, pid, "ada@firm.be", Role.ACCOUNTANT, assign={mine: Access.EDIT})
    configuring = {
        "installations.list",
        "installations.get",
        "installations.install",
        "installations.update",
        "installations.deactivate",
        "installations.check",
        "integrations.add",
        "integrations.update",
        "integrations.pause",
        "integrations.resume",
    }
    calls = dict(partner_space_calls(app, w, me))
    assert configuring <= set(calls)
    for name in sorted(configuring):
        before = snapshot(app)
        with pytest.raises(Forbidden, match=r"ada@firm.be \(accountant\) cannot"):
            calls[name]()
        assert snapshot(app) == before, f"{name} changed something"


def test_users_of_one_partner_never_reach_anothers_rows(app: App, shared_data: Path) -> None:
    a = world(app, shared_data, name="Firm A")
    b = world(app, shared_data, name="Firm B")
    intruders = [
        person(app, b.partner_id, "admin@b.be", Role.ADMINISTRATOR),
        person(app, b.partner_id, "cm@b.be", Role.CLIENT_MANAGER),
        person(app, b.partner_id, "acc@b.be", Role.ACCOUNTANT, assign={b.clients[0]: Access.EDIT}),
        person(app, b.partner_id, "biz@b.be", Role.BUSINESS, client_id=b.clients[0]),
    ]
    for intruder in intruders:
        # Naming partner A outright: nothing of it exists for them, whatever the call.
        for _, call in tenant_calls(app, a, intruder, a.partner_id, shared_data):
            refused(app, call, NotFound, "does not exist")
        # Their own partner with A's ids (guessed): refused or not found, nothing changes,
        # and what they may list holds nothing of A.
        for name, call in tenant_calls(app, a, intruder, b.partner_id, shared_data):
            if name in NAMING_NO_ROW:
                continue
            before = snapshot(app)
            try:
                outcome = call()
            except (NotFound, Forbidden) as refusal:
                assert not isinstance(refusal, Forbidden) or "cannot" in str(refusal), name
                outcome = None
            assert snapshot(app) == before, f"{intruder.label}: {name} changed something"
            assert not _shows(outcome, a.partner_id), f"{intruder.label}: {name}: {outcome}"


def _shows(outcome: object, partner_id: int) -> bool:
    """Whether a call's result holds any row of that partner."""
    items = outcome if isinstance(outcome, list) else [outcome]
    found = [item["export"] if isinstance(item, dict) else item for item in items]
    return any(getattr(row, "partner_id", None) == partner_id for row in found)


def tenant_calls(app: App, w: World, intruder: Actor, pid: int, data: Path) -> Calls:
    """Every call on the world's rows, made by `intruder` in partner `pid`."""
    client = w.clients[0]
    return [
        *partner_space_calls(app, w, intruder, pid),
        ("documents.get", lambda: documents.get(app, pid, w.released[0], actor=intruder)),
        ("documents.list", lambda: documents.list_documents(app, pid, client, actor=intruder)),
        ("documents.approve", lambda: documents.approve(app, pid, w.to_approve[0], actor=intruder)),
        ("documents.send", lambda: documents.send(app, pid, w.to_send[0], actor=intruder)),
        (
            "intake.upload",
            lambda: upload(app, pid, client, data, UNSEEN, PURCHASE_KIND, intruder),
        ),
        ("clients.list", lambda: clients.list_clients(app, pid, actor=intruder)),
        ("clients.get", lambda: clients.get_client(app, pid, client, actor=intruder)),
        (
            "clients.status",
            lambda: clients.change_status(app, pid, client, ClientStatus.ARCHIVED, actor=intruder),
        ),
        ("users.list", lambda: partners.list_users(app, pid, actor=intruder)),
    ]


def test_e_mails_are_unique_across_partners_whatever_their_case(app: App) -> None:
    a = firm(app, n_clients=1, name="Firm A")
    b = firm(app, n_clients=0, name="Firm B")
    partners.add_user(app, a.partner_id, "Ada@Firm.be", "", {Role.ACCOUNTANT})
    refused(
        app,
        lambda: partners.add_user(app, b.partner_id, "ada@firm.BE", "", {Role.ADMINISTRATOR}),
        Conflict,
        "already exists",
    )
    refused(
        app,
        lambda: partners.add_user(app, a.partner_id, "biz@x.be", "", {Role.BUSINESS}),
        InvalidInput,
        "belongs to one client",
    )
    refused(
        app,
        lambda: partners.add_user(
            app, b.partner_id, "biz@x.be", "", {Role.BUSINESS}, client_id=a.clients[0].id
        ),
        NotFound,
        "does not exist",
    )
    biz = partners.add_user(
        app, a.partner_id, "biz@x.be", "", {Role.BUSINESS}, client_id=a.clients[0].id
    )
    refused(
        app,
        lambda: partners.assign(app, a.partner_id, biz.id, a.clients[0].id, Access.EDIT),
        Conflict,
        "is a business user",
    )
    assert actors.for_user(app, biz.id).client_id == a.clients[0].id
    with pytest.raises(NotFound):
        actors.for_user(app, 10_000)
