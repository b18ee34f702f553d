"""Blobs in a real local S3 server (moto): content-addressed, streamed both ways, checked
on read; a server that answers 500 or disappears mid-upload leaves nothing half-written,
and a worker that cannot read a document's file tries again later."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import obstore
import pytest
from sqlalchemy import func, select

from passeur.bootstrap import App
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.exports import ErrorClass, ExportState
from passeur.formats.corpus import make_padded_pdf
from passeur.sandbox.s3_server import S3Sandbox
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, intake
from passeur.storage.blobs import BlobDamaged, BlobUnavailable
from passeur.storage.db import reading
from passeur.storage.s3_blobs import S3BlobStore
from passeur.storage.tables import documents as documents_table
from tests.clock import LedgerClock
from tests.factories import USER, add_integration, firm, sftp_installation

MB = 1024 * 1024


def objects(app: App) -> list[str]:
    store = app.blobs.store  # type: ignore[attr-defined]
    return [o["path"] for batch in obstore.list(store) for o in batch]


def document_count(app: App) -> int:
    with reading(app.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(documents_table)).scalar_one())


def test_a_blob_is_stored_under_its_digest_once_and_read_back_from_anywhere(
    s3_app: App,
) -> None:
    sha, size = s3_app.blobs.put(io.BytesIO(b"first"), max_size=100)
    assert (sha, size) == (hashlib.sha256(b"first").hexdigest(), 5)
    assert s3_app.blobs.stage(b"first").sha256 == sha  # already there: nothing sent again
    assert objects(s3_app) == [f"{sha[:2]}/{sha[2:4]}/{sha}"]
    with s3_app.blobs.open(sha) as stream:
        assert stream.read() == b"first"
        stream.seek(2)
        assert stream.read(2) == b"rs"
    with pytest.raises(Exception, match="larger than the limit"):
        s3_app.blobs.put(io.BytesIO(b"x" * 101), max_size=100)
    assert len(objects(s3_app)) == 1  # refused: nothing stored


def test_a_50_mb_document_is_streamed_both_ways_never_whole_in_memory(s3: S3Sandbox) -> None:
    """In a process of its own (the S3 server's memory is this one's): its peak memory
    grows by far less than the document's size while it is stored and read back."""
    ran = subprocess.run(
        [sys.executable, "-m", "tests.integration.s3_streaming", s3.url, s3.create_bucket()],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    growth, whole = ran.stdout.split()
    assert whole == "True"
    assert float(growth) < 40, ran.stdout  # MB: two 8 MB parts in flight, never the 50 MB


def test_a_reader_slower_than_the_stores_timeout_still_reads_the_whole_blob(
    s3: S3Sandbox,
) -> None:
    """A slow target reads a large blob at its own pace, longer in all than one S3
    request may take: each GET must end within the timeout, whatever the reader's pace."""
    store = S3BlobStore(f"s3://{s3.create_bucket()}/b", endpoint=s3.url, access_key_id="k",
                        secret_access_key="s", timeout_seconds=0.5, retries=0)  # fmt: skip
    data = make_padded_pdf(6 * MB)
    sha, _ = store.put(io.BytesIO(data), max_size=len(data))
    read = b""
    with store.open(sha) as stream:
        while piece := stream.read(MB):
            read += piece
            time.sleep(0.15)  # the slow target's pace (not a wait for anything)
    assert hashlib.sha256(read).hexdigest() == sha


def test_a_blob_damaged_in_the_bucket_is_refused_when_read(s3_app: App) -> None:
    sha, _ = s3_app.blobs.put(io.BytesIO(b"the original"), max_size=100)
    store = s3_app.blobs.store  # type: ignore[attr-defined]
    obstore.put(store, f"{sha[:2]}/{sha[2:4]}/{sha}", b"the tampered")
    with pytest.raises(BlobDamaged), s3_app.blobs.open(sha) as stream:
        stream.read()
    with pytest.raises(BlobDamaged):
        asyncio.run(s3_app.blobs.opener(sha, 12))


@pytest.mark.parametrize("fault", ["500", "gone mid-upload"])
def test_intake_reports_a_failing_store_and_stores_nothing(
    s3_app: App, s3: S3Sandbox, shared_data: Path, fault: str
) -> None:
    f = firm(s3_app, n_clients=1)
    data = make_padded_pdf(20 * MB)  # several parts: the cut comes after the first
    if fault == "500":
        s3.faults.fail(100)
    else:
        s3.faults.disappear(after_bytes=9 * MB)
    with pytest.raises(BlobUnavailable, match="blob store"):
        intake.upload(s3_app, f.partner_id, f.clients[0].id, "big.pdf", data,
                      kind=DocumentKind.PURCHASE_INVOICE)  # fmt: skip
    s3.faults.restore()
    assert objects(s3_app) == [] and document_count(s3_app) == 0
    doc = intake.upload(s3_app, f.partner_id, f.clients[0].id, "big.pdf", data,
                        kind=DocumentKind.PURCHASE_INVOICE)  # fmt: skip
    assert objects(s3_app) == [f"{doc.sha256[:2]}/{doc.sha256[2:4]}/{doc.sha256}"]


def test_one_500_is_retried_by_the_store_itself(s3_app: App, s3: S3Sandbox) -> None:
    s3.faults.fail(1)
    sha, _ = s3_app.blobs.put(io.BytesIO(b"retried"), max_size=100)
    assert s3_app.blobs.exists(sha)


def test_a_worker_that_cannot_read_the_file_tries_again_later(
    s3_app: App, s3: S3Sandbox, sftp: SftpSandbox, shared_data: Path, clock: LedgerClock
) -> None:
    f = firm(s3_app, n_clients=1)
    add_integration(
        s3_app, f.partner_id, f.clients[0].id, sftp_installation(s3_app, f.partner_id, sftp)
    )
    data = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    doc = intake.upload(s3_app, f.partner_id, f.clients[0].id, "inv.xml", data,
                        kind=DocumentKind.PURCHASE_INVOICE)  # fmt: skip
    documents.approve(s3_app, f.partner_id, doc.id)
    s3.faults.disappear()
    asyncio.run(Worker(s3_app, concurrency=2).run(asyncio.Event(), drain=True))
    [row] = exports.list_exports(s3_app, f.partner_id)
    assert row["export"].state is ExportState.RETRYING
    assert row["export"].last_error_class is ErrorClass.TRANSIENT
    s3.faults.restore()
    clock.advance(timedelta(seconds=1))  # the retry is due
    asyncio.run(Worker(s3_app, concurrency=2).run(asyncio.Event(), drain=True))
    export, tries = exports.get(s3_app, f.partner_id, row["export"].id)
    assert export.state is ExportState.DELIVERED
    assert "blob store" in tries[0].message and tries[0].error_class is ErrorClass.TRANSIENT
    assert (sftp.root / USER / export.receipt["location"]).read_bytes() == data
