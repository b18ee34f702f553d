"""Several worker processes against one database: no double delivery, no loss on SIGKILL."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.exports import AttemptOutcome, ExportState
from passeur.formats.corpus import make_padded_pdf
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, intake
from passeur.storage.db import reading
from passeur.storage.tables import exports as exports_table
from tests.factories import USER, Firm, add_integration, firm, sftp_installation
from tests.integration.processes import spawn_worker, worker_env

pytestmark = pytest.mark.slow


def approve_many(app: App, shared_data: Path, sftp: SftpSandbox, n: int) -> int:
    """n approved invoices over four clients, each with its own installation (so that the
    per-installation pacing leaves room for every worker)."""
    f = firm(app, n_clients=4)
    for client in f.clients:
        installation = sftp_installation(app, f.partner_id, sftp)
        add_integration(app, f.partner_id, client.id, installation)
    data = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    for i in range(n):
        doc = intake.upload(
            app,
            f.partner_id,
            f.clients[i % 4].id,
            f"inv{i}.xml",
            data,
            kind=DocumentKind.PURCHASE_INVOICE,
        )
        documents.approve(app, f.partner_id, doc.id)
    return f.partner_id


def test_four_workers_claiming_at_once_never_deliver_an_export_twice(
    app: App, sftp: SftpSandbox, shared_data: Path, tmp_path: Path
) -> None:
    partner_id = approve_many(app, shared_data, sftp, 120)
    sftp.faults.write_delay = 0.05  # slow enough that all four are busy at the same time
    env = worker_env(app, PASSEUR_WORKER_BATCH="5")
    workers = [spawn_worker(env, "--drain", "--concurrency", "4") for _ in range(4)]
    outputs = [w.communicate(timeout=90)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    found = exports.list_exports(app, partner_id)
    assert len(found) == 120
    assert {r["export"].state for r in found} == {ExportState.DELIVERED}
    workers_seen = set()
    for row in found:
        _, tries = exports.get(app, partner_id, row["export"].id)
        assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED]
        workers_seen.add(tries[0].worker)
    assert len(workers_seen) >= 3, "the workers should have shared the queue"
    renames = Counter(
        json.loads(line)["path"] for line in (tmp_path / "ev").read_text().splitlines()
    )
    assert len(renames) == 120 and set(renames.values()) == {1}, "a file was put twice"


def test_a_sigkilled_workers_export_is_delivered_after_its_lease(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    f, body = _one_big_approved_upload(app, sftp)
    sftp.faults.write_delay = 0.5  # about two seconds per upload: time to kill it mid-way
    env = worker_env(app, PASSEUR_LEASE_SECONDS="2")
    doomed = spawn_worker(env)
    export_id = wait_for(app, lambda row: row.state == "running")
    poll(lambda: any(p.stat().st_size for p in sftp.root.rglob("*.part")), "an upload begins")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    with reading(app.engine) as conn:
        row = conn.execute(select(exports_table).where(exports_table.c.id == export_id)).one()
    assert row.state == "running", "the dead worker's claim stays until its lease runs out"
    lease_end = row.due_at
    sftp.faults.write_delay = 0.0
    rescuer = spawn_worker(env)
    try:
        wait_for(app, lambda row: row.state == "delivered", timeout=30)
    finally:
        rescuer.send_signal(signal.SIGTERM)
        rescuer.communicate(timeout=30)
    export, tries = exports.get(app, f.partner_id, export_id)
    assert [t.outcome for t in tries] == [AttemptOutcome.ABANDONED, AttemptOutcome.DELIVERED]
    assert tries[1].started_at >= lease_end, "taken over only after the lease expired"
    assert tries[0].worker != tries[1].worker
    assert (sftp.root / USER / export.receipt["location"]).read_bytes() == body
    assert rescuer.returncode == 0


def _one_big_approved_upload(app: App, sftp: SftpSandbox) -> tuple[Firm, bytes]:
    """A client with an SFTP integration and one approved 1 MB document (slow to upload
    once the sandbox is told to write slowly)."""
    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    body = make_padded_pdf(1024 * 1024)
    doc = intake.upload(
        app, f.partner_id, f.clients[0].id, "big.pdf", body, kind=DocumentKind.PURCHASE_INVOICE
    )
    documents.approve(app, f.partner_id, doc.id)
    return f, body


def wait_for(app: App, condition, timeout: float = 20.0) -> int:  # type: ignore[no-untyped-def]
    """Poll the first export until `condition(row)` holds; its id."""
    found: list[int] = []

    def reached() -> bool:
        with reading(app.engine) as conn:
            row = conn.execute(select(exports_table)).first()
        if row is not None and condition(row):
            found.append(int(row.id))
        return bool(found)

    poll(reached, "the export reaches the expected state", timeout)
    return found[0]


def poll(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Check `condition` every 50 ms until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s in vain for: {what}")
        time.sleep(0.05)


def test_a_stopped_worker_finishes_and_records_its_tries(
    app: App, sftp: SftpSandbox, shared_data: Path
) -> None:
    """SIGTERM (a deploy): the try in flight completes, even past its first lease."""
    f, body = _one_big_approved_upload(app, sftp)
    sftp.faults.write_delay = 0.8  # about three seconds: longer than the lease
    worker = spawn_worker(worker_env(app, PASSEUR_LEASE_SECONDS="1.5"))
    export_id = wait_for(app, lambda row: row.state == "running")
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=60)[0]
    assert worker.returncode == 0, output
    export, tries = exports.get(app, f.partner_id, export_id)
    assert export.state is ExportState.DELIVERED
    assert [t.outcome for t in tries] == [AttemptOutcome.DELIVERED]
    assert (sftp.root / USER / export.receipt["location"]).read_bytes() == body
