"""Running on several machines: a folder store migrated to S3 (resumable, verified), the
readiness probe, and a SQLite backup taken while a worker delivers."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import obstore
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from passeur.bootstrap import App, blob_store, build
from passeur.domain.documents import DocumentKind
from passeur.sandbox.s3_server import S3Sandbox
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, intake
from passeur.storage.backup import backup_sqlite
from passeur.storage.blob_migration import migrate
from passeur.storage.blobs import LocalBlobStore
from passeur.storage.db import reading
from passeur.storage.tables import documents as documents_table
from passeur.storage.tables import exports as exports_table
from passeur.web.app import create
from tests.conftest import make_settings, s3_settings
from tests.factories import add_integration, firm, sftp_installation
from tests.integration.processes import spawn_worker, worker_env


def test_a_folder_store_is_migrated_resumably_and_verified(
    sqlite_app: App, s3: S3Sandbox, tmp_path: Path
) -> None:
    assert isinstance(sqlite_app.blobs, LocalBlobStore)
    shas = [sqlite_app.blobs.put(io.BytesIO(b"blob %d" % n), max_size=100)[0] for n in range(5)]
    settings = make_settings(tmp_path / "data", "sqlite://", **s3_settings(s3))
    destination = blob_store(settings)
    s3.faults.fail(100)  # the store fails: the migration stops, nothing half-written
    with pytest.raises(Exception, match="blob store"):
        migrate(sqlite_app.blobs, destination)
    s3.faults.restore()
    store = destination.store  # type: ignore[attr-defined]
    obstore.put(store, f"{shas[0][:2]}/{shas[0][2:4]}/{shas[0]}", b"blob 0")  # done before
    done = migrate(sqlite_app.blobs, destination, verify=True)
    assert (done.copied, done.skipped, done.verified, done.damaged) == (4, 1, 5, [])
    obstore.put(store, f"{shas[1][:2]}/{shas[1][2:4]}/{shas[1]}", b"blob X")  # damaged
    again = migrate(sqlite_app.blobs, destination, verify=True)
    assert (again.copied, again.skipped, again.damaged) == (0, 5, [shas[1]])


def test_the_migrate_command_copies_the_data_folder_store(tmp_path: Path, s3: S3Sandbox) -> None:
    data = tmp_path / "data"
    LocalBlobStore(data / "blobs").put(io.BytesIO(b"a document"), max_size=100)
    bucket = s3.create_bucket()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PASSEUR_")},
           "PASSEUR_DATA_DIR": str(data), "PASSEUR_S3_ENDPOINT": s3.url,
           "PASSEUR_S3_ACCESS_KEY_ID": "k", "PASSEUR_S3_SECRET_ACCESS_KEY": "s"}  # fmt: skip
    run = [sys.executable, "-m", "passeur", "blobs", "migrate", "--to", f"s3://{bucket}/b"]
    first = subprocess.run([*run, "--verify"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "1 copied, 0 already there, 1 verified" in first.stdout


def test_ready_says_what_is_not_reachable(s3_app: App, s3: S3Sandbox) -> None:
    with TestClient(create(s3_app)) as web:
        assert web.get("/health").json() == {"status": "ok"}
        ready = web.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        s3.faults.disappear()
        gone = web.get("/ready")
        assert gone.status_code == 503 and "blob store" in gone.json()["blobs"]
        assert gone.json()["database"] == "ok"


def test_ready_refuses_a_database_behind_the_code(tmp_path: Path) -> None:
    app = build(make_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'old.db'}"))
    try:
        with TestClient(create(app)) as web:
            found = web.get("/ready")
        assert found.status_code == 503 and "passeur db upgrade" in found.json()["migrations"]
    finally:
        app.close()


def test_a_backup_taken_while_the_worker_delivers_restores_every_document_and_export(
    sqlite_app: App, sftp: SftpSandbox, shared_data: Path, tmp_path: Path
) -> None:
    f = firm(sqlite_app, n_clients=1)
    add_integration(sqlite_app, f.partner_id, f.clients[0].id,
                    sftp_installation(sqlite_app, f.partner_id, sftp))  # fmt: skip
    data = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    ids = []
    for n in range(40):
        doc = intake.upload(sqlite_app, f.partner_id, f.clients[0].id, f"i{n}.xml", data,
                            kind=DocumentKind.PURCHASE_INVOICE)  # fmt: skip
        ids.append(documents.approve(sqlite_app, f.partner_id, doc.id).id)
    sftp.faults.write_delay = 0.1  # still delivering while the backup is taken
    worker = spawn_worker(worker_env(sqlite_app), "--concurrency", "2")
    try:
        deadline = time.monotonic() + 30
        while delivered(sqlite_app) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the first delivery, not a fixed wait
        backup_sqlite(sqlite_app.engine, tmp_path / "backup.db")
        assert 0 < delivered(sqlite_app) < len(ids)  # taken while the worker delivered
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    restored = build(make_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'backup.db'}"))
    try:
        with reading(restored.engine) as conn:
            found = conn.execute(select(documents_table.c.id, documents_table.c.sha256)).all()
            n_exports = conn.execute(select(func.count()).select_from(exports_table)).scalar()
        assert sorted(r.id for r in found) == sorted(ids) and n_exports == len(ids)
        for row in found:
            with restored.blobs.open(row.sha256) as stream:
                assert stream.read() == data
    finally:
        restored.close()


def delivered(app: App) -> int:
    with reading(app.engine) as conn:
        query = select(func.count()).select_from(exports_table)
        return int(conn.execute(query.where(exports_table.c.state == "delivered")).scalar_one())
