"""The worker delivering to a real SFTP server, in process."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.connectors.errors import Rejected
from passeur.delivery import worker as worker_module
from passeur.delivery.worker import Worker
from passeur.domain.documents import AccountingStatus, DocumentKind
from passeur.domain.exports import AttemptOutcome, ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, integrations
from passeur.storage.db import reading
from passeur.storage.tables import exports as exports_table
from tests.clock import LedgerClock
from tests.factories import (
    PASSWORD,
    USER,
    add_integration,
    approve_invoices,
    firm,
    sample_invoice,
    sftp_installation,
    upload_invoice,
)


def drain(app: App) -> Worker:
    worker = Worker(app, concurrency=4)
    asyncio.run(worker.run(asyncio.Event(), drain=True))
    return worker


def test_approved_documents_are_delivered_and_receipts_kept(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    source = shared_data / "ubl/peppol-base-example.xml"
    doc = upload_invoice(app, f.partner_id, f.clients[0].id, source, DocumentKind.PURCHASE_INVOICE)
    documents.approve(app, f.partner_id, doc.id)
    assert drain(app).delivered == 1
    [row] = exports.list_exports(app, f.partner_id)
    export = row["export"]
    assert export.state is ExportState.DELIVERED
    landed = sftp.root / USER / export.receipt["location"]
    assert landed.read_bytes() == source.read_bytes()
    assert export.receipt["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert export.receipt["size"] == len(source.read_bytes())
    status = documents.get(app, f.partner_id, doc.id).accounting_status
    assert status is AccountingStatus.READY_TO_PROCESS


def test_a_wrong_password_parks_the_integration_without_leaking_it(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    installations.update(app, f.partner_id, inst, {"password": "not-the-password"})
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    for _ in range(2):
        doc = sample_invoice(app, f, shared_data)
        documents.approve(app, f.partner_id, doc.id)
    drain(app)
    found = exports.list_exports(app, f.partner_id)
    assert {r["export"].state for r in found} == {ExportState.NEEDS_ATTENTION}
    assert sftp.logins == [(USER, False)], "one refused login reaches the server, no more"
    tried = [t for r in found for t in exports.get(app, f.partner_id, r["export"].id)[1]]
    assert {t.error_class for t in tried} == {ErrorClass.AUTH}
    assert all("refused the login" in t.message for t in tried)
    assert not any("not-the-password" in t.message for t in tried)
    [integration] = integrations.list_integrations(app, f.partner_id)
    assert integration.status is IntegrationStatus.NEEDS_ATTENTION
    # A person fixes the password and retries: everything parked goes out.
    installations.update(app, f.partner_id, inst, {"password": PASSWORD})
    exports.retry(app, f.partner_id, found[0]["export"].id)
    drain(app)
    states = {r["export"].state for r in exports.list_exports(app, f.partner_id)}
    assert states == {ExportState.DELIVERED}


def test_a_server_that_is_down_is_retried_until_it_is_back(
    app: App, sftp: SftpSandbox, shared_data: Path, clock: LedgerClock
) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    installations.update(app, f.partner_id, inst, {"port": "1"})  # nothing listens there
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    doc = sample_invoice(app, f, shared_data)
    documents.approve(app, f.partner_id, doc.id)
    drain(app)  # the first try fails; the next one is not due yet (1 s)
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].state is ExportState.RETRYING
    assert row["export"].last_error_class is ErrorClass.TRANSIENT
    installations.update(app, f.partner_id, inst, {"port": str(sftp.port)})
    clock.advance(timedelta(seconds=1))  # the retry is due
    drain(app)
    export, tries = exports.get(app, f.partner_id, row["export"].id)
    assert export.state is ExportState.DELIVERED
    assert tries[-1].outcome is AttemptOutcome.DELIVERED
    assert {t.outcome for t in tries[:-1]} == {AttemptOutcome.ERROR}
    assert {t.error_class for t in tries[:-1]} == {ErrorClass.TRANSIENT}


def test_an_unexpected_error_is_retried_and_logged_without_secrets(
    app: App, sftp: SftpSandbox, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from passeur.connectors.sftp import SftpConnector

    async def broken(self: SftpConnector, target: Any, parcel: Any) -> Any:
        raise RuntimeError(f"bug while using {target.secrets['password']}")

    monkeypatch.setattr(SftpConnector, "deliver", broken)
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    approve_invoices(app, f, shared_data)
    drain(app)
    [row] = exports.list_exports(app, f.partner_id)
    assert row["export"].state in (ExportState.RETRYING, ExportState.FAILED)
    assert row["export"].last_error_class is ErrorClass.TRANSIENT
    assert "bug while using ***" in row["export"].last_error
    assert PASSWORD not in caplog.text and "bug while using ***" in caplog.text


def test_a_connectors_error_is_stored_without_the_installations_secrets(
    app: App, sftp: SftpSandbox, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A connector should never put a secret in its message; if one does, the worker
    redacts it before the attempt, the export or a log line keeps it."""
    from passeur.connectors.sftp import SftpConnector

    async def careless(self: SftpConnector, target: Any, parcel: Any) -> Any:
        raise Rejected(f"the server refused {target.secrets['password']!r} for this folder")

    monkeypatch.setattr(SftpConnector, "deliver", careless)
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    approve_invoices(app, f, shared_data)
    caplog.set_level(logging.INFO, logger="passeur")
    drain(app)
    [row] = exports.list_exports(app, f.partner_id)
    export, tries = exports.get(app, f.partner_id, row["export"].id)
    assert export.state is ExportState.FAILED and export.last_error_class is ErrorClass.REJECTED
    assert [t.message for t in tries] == ["the server refused '***' for this folder"]
    assert PASSWORD not in export.last_error and "refused '***'" in export.last_error
    assert "refused '***'" in caplog.text and PASSWORD not in caplog.text


def test_a_try_longer_than_its_lease_is_delivered_once_by_two_workers(
    app: App, sftp: SftpSandbox, shared_data: Path, clock: LedgerClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The heartbeat extends the lease of a try in flight, so a second worker, claiming
    all along, never takes it over, however far past its first lease the try runs.

    The ledger's clock stands still and moves only when the try moves it: past half a
    lease, then (once a heartbeat extended the lease and both workers claimed again)
    again, three times. A busy machine makes the test slower, never wrong."""
    from passeur.connectors.sftp import SftpConnector

    fast = build(app.settings.model_copy(update={"lease_seconds": 0.6}))  # beats every 0.2 s
    lease = timedelta(seconds=fast.settings.lease_seconds)
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    approve_invoices(app, f, shared_data)
    clock.freeze()
    trips: list[tuple[str, datetime]] = []  # (worker, ledger time) of every claim
    original_claim = worker_module.claim_in

    def observed_claim(conn: Any, name: str, limit: int, lease: timedelta) -> Any:
        trips.append((name, clock()))
        return original_claim(conn, name, limit, lease)

    monkeypatch.setattr(worker_module, "claim_in", observed_claim)
    workers = [Worker(fast, concurrency=4, name=name) for name in ("w1", "w2")]
    calls: list[int] = []
    original_deliver = SftpConnector.deliver

    def extended_after(moment: datetime) -> Callable[[], bool]:
        return lambda: lease_end(fast) > moment + lease / 2

    def both_claimed_after(moment: datetime) -> Callable[[], bool]:
        return lambda: {w for w, at in trips if at >= moment} == {"w1", "w2"}

    async def long_try(self: SftpConnector, target: Any, parcel: Any) -> Any:
        calls.append(parcel.export_id)
        if len(calls) == 1:
            for _ in range(3):  # 1.8 leases past the claim in all
                clock.advance(lease * 0.6)
                extended = await until(extended_after(clock()))  # a heartbeat came since
                if not extended:
                    clock.advance(lease)  # no need to wait longer: let it run out
                await until(both_claimed_after(clock()))  # and the other worker tried
                if not extended:
                    break
        return await original_deliver(self, target, parcel)

    monkeypatch.setattr(SftpConnector, "deliver", long_try)

    def all_recorded() -> bool:
        return 0 < len(calls) == sum(w.delivered + w.failed_tries for w in workers)

    async def main() -> None:
        stop = asyncio.Event()
        running = [asyncio.create_task(w.run(stop)) for w in workers]
        recorded = await until(all_recorded, timeout=60)
        stop.set()
        await asyncio.gather(*running)
        assert recorded, "the try was not recorded in time"

    try:
        asyncio.run(main())
    finally:
        fast.close()
    assert len(calls) == 1, "the other worker took the try over and delivered it again"
    [row] = exports.list_exports(app, f.partner_id)
    export, tries = exports.get(app, f.partner_id, row["export"].id)
    assert export.state is ExportState.DELIVERED
    assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED]


def lease_end(app: App) -> datetime:
    with reading(app.engine) as conn:
        found = conn.execute(select(exports_table.c.due_at)).scalar()
    assert isinstance(found, datetime)
    return found


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` (it may read the database: it runs in a thread) until it holds
    or `timeout` seconds have passed; whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.02)
    return False


def test_a_delivered_try_frees_its_slot_before_the_loop_hears_of_it(sqlite_app: App) -> None:
    """When a delivered try tells the loop it finished, its slot is already free, so the
    trip that records it claims for that slot too (before, the loop woke while the task
    still counted as running: a trip to record, then another to claim). A failed try
    keeps its slot until it is recorded."""
    from passeur.delivery.leases import Claim
    from passeur.delivery.outcomes import Outcome

    worker = Worker(sqlite_app, concurrency=2)
    running_when_told: list[int] = []

    async def scenario() -> None:
        changed = worker._changed
        tell = changed.set

        def told() -> None:
            running_when_told.append(len(worker._tasks))
            tell()

        changed.set = told  # type: ignore[method-assign]

        async def delivered(claim: Claim, job: object) -> Outcome:
            return Outcome(delivered=True, receipt={})

        worker._try = delivered  # type: ignore[method-assign,assignment]
        claim = Claim(
            export_id=1, partner_id=1, document_id=1, integration_id=1, installation_id=1,
            version=1, attempt=1, schedule_base=0, worker=worker.name,
        )  # fmt: skip
        worker._start(claim, RuntimeError("no parcel needed"))
        await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert running_when_told[0] == 0
    assert len(worker._finished) == 1 and worker._finished[0].outcome.delivered
