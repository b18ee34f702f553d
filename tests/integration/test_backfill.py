"""Backfill: an integration's history between two days, dry run first, queued through
the ledger a window at a time, stopped and resumed, nothing doubled. On both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, update

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.domain.clock import utcnow
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.exports import ExportState
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import backfill, installations, integrations
from passeur.storage.db import reading, transaction
from passeur.storage.tables import exports
from tests.factories import add_integration, approve_invoices, firm, sftp_installation
from tests.integration.test_access import refused
from tests.integration.test_integrations_ui_services import offline_sftp


def today() -> str:
    return f"{utcnow():%Y-%m-%d}"


def states(app: App, integration_id: int) -> list[str]:
    with reading(app.engine) as conn:
        query = select(exports.c.state).where(exports.c.integration_id == integration_id)
        return sorted(conn.execute(query).scalars())


def test_a_quarter_of_history_goes_out_once_through_the_ledger(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=2)
    pid = f.partner_id
    docs = approve_invoices(app, f, shared_data, 3)  # before the integration: no export
    approve_invoices(app, f, shared_data, 1, client=1)  # another client's
    integ = add_integration(app, pid, f.clients[0].id, sftp_installation(app, pid, sftp))

    dry = backfill.preview(app, pid, integ, "2026-01-01", today())
    assert dry.count == 3 and [d.id for d in dry.first] == docs
    assert states(app, integ) == []  # a dry run saves nothing

    run = backfill.start(app, pid, integ, "2026-01-01", today())
    assert (run.state, run.total, run.queued) == ("running", 3, 0)
    run = backfill.advance(app, pid, run.id)
    assert (run.state, run.queued, run.waiting) == ("finished", 3, 3)
    asyncio.run(Worker(app).run(asyncio.Event(), drain=True))
    done = backfill.progress(app, pid, run.id)
    assert done.delivered == 3 and done.done
    assert states(app, integ) == ["delivered"] * 3

    # Nothing doubled: a second backfill finds nothing, unless asked to send again.
    assert backfill.preview(app, pid, integ, "2026-01-01", today()).count == 0
    assert (
        backfill.preview(app, pid, integ, "2026-01-01", today(), resend_delivered=True).count == 3
    )


def test_a_window_at_a_time_stopped_and_resumed(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    pid = f.partner_id
    approve_invoices(app, f, shared_data, 5)
    integ = add_integration(app, pid, f.clients[0].id, offline_sftp(app, pid))
    original = backfill.WINDOW
    backfill.WINDOW = 2
    try:
        run = backfill.start(app, pid, integ, today(), today())
        run = backfill.advance(app, pid, run.id)
        assert (run.queued, run.waiting, run.state) == (2, 2, "running")
        run = backfill.advance(app, pid, run.id)  # the window is full
        assert run.queued == 2
        with transaction(app.engine) as conn:  # as a worker would record them
            conn.execute(
                update(exports)
                .where(exports.c.integration_id == integ)
                .values(state=ExportState.DELIVERED.value)
            )
        run = backfill.advance(app, pid, run.id)
        assert (run.queued, run.delivered, run.waiting) == (4, 2, 2)
        run = backfill.stop(app, pid, run.id)
        assert (run.state, run.queued, run.waiting) == ("stopped", 2, 0)
        assert backfill.advance(app, pid, run.id).queued == 2  # stopped: nothing queued
        refused(app, lambda: backfill.start(app, pid, integ, today(), today()), Conflict)
        backfill.resume(app, pid, run.id)
        for _ in range(3):
            run = backfill.advance(app, pid, run.id)
            with transaction(app.engine) as conn:
                conn.execute(
                    update(exports)
                    .where(exports.c.integration_id == integ, exports.c.state == "pending")
                    .values(state=ExportState.DELIVERED.value)
                )
        run = backfill.progress(app, pid, run.id)
        assert run.done and run.delivered == 5 and run.queued == 5
    finally:
        backfill.WINDOW = original
    assert states(app, integ).count("delivered") == 5  # each document once


def test_bad_ranges_and_unfit_integrations_are_refused_and_change_nothing(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    pid = f.partner_id
    approve_invoices(app, f, shared_data, 1)
    integ = add_integration(app, pid, f.clients[0].id, offline_sftp(app, pid))
    for since, until, message in [
        ("2026-13-01", today(), "since must be a date"),
        ("2026-03-31", "2026-01-01", "before the since date"),
        ("2024-01-01", "2026-01-01", "at most a year"),
    ]:
        refused(
            app,
            lambda s=since, u=until: backfill.start(app, pid, integ, s, u),  # type: ignore[misc]
            InvalidInput,
            message,
        )
    integrations.remove(app, pid, integ)  # no export yet: deleted
    refused(app, lambda: backfill.start(app, pid, integ, today(), today()), NotFound)


def test_a_document_with_an_export_on_its_way_is_never_doubled(app: App, shared_data: Path) -> None:
    f = firm(app, n_clients=1)
    pid = f.partner_id
    integ = add_integration(app, pid, f.clients[0].id, offline_sftp(app, pid))
    approve_invoices(app, f, shared_data, 1)  # released after: its export is pending
    for again in (False, True):
        dry = backfill.preview(app, pid, integ, today(), today(), resend_delivered=again)
        assert dry.count == 0
    run = backfill.start(app, pid, integ, today(), today(), resend_delivered=True)
    assert run.state == "finished" and states(app, integ) == ["pending"]


def test_a_backfill_waits_while_its_installation_is_off_or_its_integration_removed(
    app: App, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    pid = f.partner_id
    approve_invoices(app, f, shared_data, 2)
    inst = offline_sftp(app, pid)
    integ = add_integration(app, pid, f.clients[0].id, inst)
    run = backfill.start(app, pid, integ, today(), today())
    installations.set_active(app, pid, inst, False)
    assert backfill.advance(app, pid, run.id).queued == 0
    installations.set_active(app, pid, inst, True)
    assert integrations.remove(app, pid, integ) is False  # its backfill keeps it, disconnected
    assert backfill.advance(app, pid, run.id).queued == 0
    assert states(app, integ) == []
