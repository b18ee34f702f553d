"""A new export wakes an idle worker at once (NOTIFY on PostgreSQL, data_version on
SQLite) instead of waiting for the next poll."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from passeur.bootstrap import App, build
from passeur.delivery.worker import Worker
from passeur.domain.exports import ExportState
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports
from tests.factories import add_integration, firm, sample_invoice, sftp_installation


def test_an_idle_worker_wakes_when_an_export_is_created(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    idle = threading.Event()

    class SaysWhenIdle(Worker):
        async def _idle(self, now: float, stopping: bool) -> None:
            idle.set()  # it found nothing to do and waits
            await super()._idle(now, stopping)

    def approve() -> None:
        assert idle.wait(10), "the worker did not go idle"
        doc = sample_invoice(app, f, shared_data)
        documents.approve(app, f.partner_id, doc.id)

    failure = "the worker did not wake up for the new export"
    delivered_in_time(app, f.partner_id, SaysWhenIdle, approve, failure)


def test_an_export_created_while_a_claim_is_under_way_is_not_missed(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """The wake-up for an export approved just after the worker's claim read the queue
    (and found nothing) must survive that trip, or the export waits for the next poll."""
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    doc = sample_invoice(app, f, shared_data)

    class ApprovesDuringItsTrip(Worker):
        approved = False

        def _trip(self, finished, limit):  # type: ignore[no-untyped-def]
            result = super()._trip(finished, limit)
            if limit and not result[1] and not self.approved:
                self.approved = True  # the claim is done and empty; the loop awaits it
                documents.approve(app, f.partner_id, doc.id)
            return result

    failure = "the export approved during a trip waited for the poll"
    delivered_in_time(app, f.partner_id, ApprovesDuringItsTrip, lambda: None, failure)


def delivered_in_time(
    app: App,
    partner_id: int,
    make_worker: Callable[[App], Worker],
    meanwhile: Callable[[], None],
    failure: str,
) -> None:
    """Run a worker that polls only every 60 s in a thread of its own, do `meanwhile`,
    and wait up to 10 s for the partner's first export to be delivered: only a wake-up
    can make it deliver in time."""
    lazy = build(app.settings.model_copy(update={"poll_seconds": 60.0}))
    worker = make_worker(lazy)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_until_complete, args=(worker.run(stop),))
    runner.start()
    try:
        meanwhile()
        for _ in range(200):
            found = exports.list_exports(app, partner_id)
            if found and found[0]["export"].state is ExportState.DELIVERED:
                return
            asyncio.run(asyncio.sleep(0.05))
        raise AssertionError(failure)
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(10)
        lazy.close()
