"""A new export wakes an idle worker at once (NOTIFY on PostgreSQL, data_version on
SQLite) instead of waiting for the next poll."""

from __future__ import annotations

import asyncio
import threading
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
    # The worker polls only every 60 s: only a wake-up can make it deliver in time.
    lazy = build(app.settings.model_copy(update={"poll_seconds": 60.0}))
    worker = Worker(lazy)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_until_complete, args=(worker.run(stop),))
    runner.start()
    try:
        asyncio.run(asyncio.sleep(0.5))  # let it go idle
        doc = sample_invoice(app, f, shared_data)
        documents.approve(app, f.partner_id, doc.id)
        for _ in range(200):
            found = exports.list_exports(app, f.partner_id)
            if found and found[0]["export"].state is ExportState.DELIVERED:
                break
            asyncio.run(asyncio.sleep(0.05))
        else:
            raise AssertionError("the worker did not wake up for the new export")
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(10)
        lazy.close()
