"""The home page's figures, on SQLite and PostgreSQL, scoped by partner and by the clients
the visitor may see."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from passeur.bootstrap import App
from passeur.domain.clock import utcnow
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.services import overview
from tests.factories import person
from tests.web.practice import practice, release, set_client, set_export, set_integration


def test_the_practice_at_a_glance(app: App, shared_data: Path) -> None:
    p = practice(app, shared_data, n_clients=3)
    other = practice(app, shared_data, n_clients=1, name="Other firm")
    now = utcnow()
    set_integration(
        app,
        p.integrations[0],
        status=IntegrationStatus.NEEDS_ATTENTION.value,
        status_reason="sign-in refused by the server",
    )
    # Disconnected because its client was archived: nothing for a person to fix.
    set_integration(app, p.integrations[2], status=IntegrationStatus.DISCONNECTED.value)
    set_client(app, p.clients[2], status=ClientStatus.ARCHIVED.value)
    set_integration(app, other.integrations[0], status=IntegrationStatus.NEEDS_ATTENTION.value)
    set_export(app, p.exports[0], state="failed", last_error="rejected", updated_at=now)
    earlier = release(app, p.partner_id, p.clients[1], shared_data)
    set_export(app, earlier, state="failed", updated_at=now - timedelta(hours=1))
    set_export(app, p.exports[1], state="delivered", delivered_at=now, updated_at=now)
    yesterday = now - timedelta(days=2)
    set_export(app, p.exports[2], state="delivered", delivered_at=yesterday, updated_at=yesterday)
    oldest = release(app, p.partner_id, p.clients[1], shared_data)
    set_export(app, oldest, state=ExportState.RETRYING.value)
    release(app, p.partner_id, p.clients[1], shared_data)  # pending, newer
    set_export(app, other.exports[0], state="failed")

    found = overview.overview(app, p.partner_id)

    assert found.clients == {ClientStatus.ACTIVE: 2, ClientStatus.ARCHIVED: 1}
    assert found.troubles is not None and found.troubles_total == 1
    [trouble] = found.troubles
    assert (trouble.integration_id, trouble.client_id) == (p.integrations[0], p.clients[0])
    assert trouble.reason == "sign-in refused by the server"
    assert trouble.installation_name == "SFTP" and trouble.client_name == "Client 0"
    figures = found.exports
    assert figures is not None
    assert figures.failed == 2 and figures.waiting == 2 and figures.parked == 0
    assert figures.delivered_today == 1
    assert [r["export"].id for r in figures.latest_failed] == [earlier, p.exports[0]]
    assert figures.oldest_waiting is not None
    assert figures.oldest_waiting["export"].id == oldest
    assert figures.oldest_waiting["client_name"] == "Client 1"


def test_an_accountant_sees_the_figures_of_their_clients_only(app: App, shared_data: Path) -> None:
    p = practice(app, shared_data, n_clients=2)
    for export_id in p.exports:
        set_export(app, export_id, state="failed")
    for integration_id in p.integrations:
        set_integration(app, integration_id, status=IntegrationStatus.NEEDS_ATTENTION.value)
    me = person(
        app, p.partner_id, "ada@firm.be", Role.ACCOUNTANT, assign={p.clients[1]: Access.VIEW}
    )

    found = overview.overview(app, p.partner_id, actor=me)

    assert found.clients == {ClientStatus.ACTIVE: 1}
    assert found.troubles is not None
    assert [t.client_id for t in found.troubles] == [p.clients[1]]
    assert found.exports is not None and found.exports.failed == 1
    assert [r["client_id"] for r in found.exports.latest_failed] == [p.clients[1]]
    newcomer = person(app, p.partner_id, "new@firm.be", Role.ACCOUNTANT)
    empty = overview.overview(app, p.partner_id, actor=newcomer)
    assert empty.client_count == 0 and empty.troubles == []
    assert empty.exports is not None and empty.exports.failed == 0
    assert empty.exports.oldest_waiting is None


def test_a_client_manager_gets_the_clients_without_exports_or_integrations(
    app: App, shared_data: Path
) -> None:
    p = practice(app, shared_data, n_clients=2)
    manager = person(app, p.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)

    found = overview.overview(app, p.partner_id, actor=manager)

    assert found.client_count == 2
    assert found.troubles is None and found.exports is None
    set_export(app, p.exports[0], state=ExportState.FAILED.value)
    assert overview.overview(app, p.partner_id, actor=manager).exports is None


def test_the_figures_read_exports_along_indexes(sqlite_app: App, shared_data: Path) -> None:
    """Each query the home page runs on SQLite finds its exports through an index: none
    walks the whole ledger or sorts it (a million exports must not slow the home page)."""
    app = sqlite_app
    p = practice(app, shared_data, n_clients=2)
    me = person(
        app, p.partner_id, "ada@firm.be", Role.ACCOUNTANT, assign={p.clients[0]: Access.EDIT}
    )
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and " exports" in statement:
            seen.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", grab)
    try:
        overview.overview(app, p.partner_id)
        overview.overview(app, p.partner_id, actor=me)
    finally:
        event.remove(app.engine, "before_cursor_execute", grab)
    assert len(seen) >= 10
    with app.engine.connect() as conn:
        for statement, parameters in seen:
            plan = [
                r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            assert not any(step.startswith("SCAN exports") for step in plan), (statement, plan)
            assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)
