"""The API extension's feed: lease, redelivery, acknowledgement, two readers at once, and
the worker never pushing its exports; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.delivery.claims import claim
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.exports import AttemptOutcome, ExportState
from passeur.sandbox.feed_reader import FeedReader
from passeur.services import documents, exports, feeds, installations, integrations
from passeur.storage.db import reading
from passeur.storage.tables import exports as exports_table
from tests.clock import LedgerClock
from tests.conftest import make_settings
from tests.factories import approve_invoices, firm
from tests.integration.test_access import refused


@dataclass
class Feed:
    partner_id: int
    client_id: int
    integration_id: int
    documents: list[int]


def feed(app: App, shared_data: Path, n: int, lease_minutes: int = 10) -> Feed:
    f = firm(app, n_clients=1)
    installation = installations.install(
        app, f.partner_id, "api", "Our ERP", {"lease_minutes": lease_minutes}
    )
    client = f.clients[0].id
    integration = integrations.add(app, f.partner_id, client, installation.id, {})
    return Feed(f.partner_id, client, integration.id, approve_invoices(app, f, shared_data, n))


def states(app: App, integration_id: int) -> list[str]:
    with reading(app.engine) as conn:
        query = (
            select(exports_table.c.state)
            .where(exports_table.c.integration_id == integration_id)
            .order_by(exports_table.c.id)
        )
        return list(conn.execute(query).scalars())


def test_lease_redelivery_and_acknowledgement(
    app: App, shared_data: Path, clock: LedgerClock
) -> None:
    fd = feed(app, shared_data, 3)
    assert states(app, fd.integration_id) == ["on_feed"] * 3
    assert claim(app.engine, "w", 10, timedelta(seconds=5)) == [], "the worker never pushes"

    first = feeds.pull(app, fd.partner_id, fd.integration_id, limit=2)
    assert [i.document.id for i in first.items] == fd.documents[:2]
    assert first.lease_seconds == 600 and first.next_cursor
    rest = feeds.pull(app, fd.partner_id, fd.integration_id, cursor=first.next_cursor, limit=2)
    assert [i.document.id for i in rest.items] == fd.documents[2:] and rest.next_cursor == ""
    assert feeds.pull(app, fd.partner_id, fd.integration_id).items == [], "all are leased"
    assert states(app, fd.integration_id) == ["fetched"] * 3

    item = first.items[0]
    assert item.files[0].role == "original" and item.files[0].size > 0
    assert item.document.metadata and item.document.kind == "purchase_invoice"
    done = feeds.ack(app, fd.partner_id, fd.integration_id, item.id)
    assert done.state is ExportState.DELIVERED and not done.already
    assert feeds.ack(app, fd.partner_id, fd.integration_id, item.id).already
    assert documents.get(app, fd.partner_id, item.document.id).accounting_status.value == (
        "ready_to_process"
    )

    clock.advance(timedelta(minutes=10, seconds=1))  # the other two were never acknowledged
    again = feeds.pull(app, fd.partner_id, fd.integration_id)
    assert [i.id for i in again.items] == [i.id for i in (*first.items[1:], *rest.items)]
    assert {i.fetch for i in again.items} == {2}
    assert states(app, fd.integration_id) == ["delivered", "fetched", "fetched"]
    _, tries = exports.get(app, fd.partner_id, again.items[0].id)
    assert [t.outcome for t in tries] == [AttemptOutcome.ABANDONED, AttemptOutcome.RUNNING]
    for i in again.items:
        feeds.ack(app, fd.partner_id, fd.integration_id, i.id)
    clock.advance(timedelta(hours=1))
    assert feeds.pull(app, fd.partner_id, fd.integration_id).items == [], "acked never return"
    assert states(app, fd.integration_id) == ["delivered"] * 3


def test_two_readers_pulling_at_once_never_share_an_item(
    app: App, shared_data: Path, tmp_path: Path
) -> None:
    """Two processes' worth of readers: each has its own engine on the same database."""
    fd = feed(app, shared_data, 24)
    other = build(make_settings(tmp_path / "data", app.settings.database_url))
    got: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def read(name: str, on: App) -> None:
        for _ in range(5):  # 4 rounds of 2 x 3 take all 24; the fifth finds none
            start.wait()  # both pull at the same moment, every round
            page = feeds.pull(on, fd.partner_id, fd.integration_id, limit=3, reader=name)
            got[name] += [i.id for i in page.items]

    try:
        threads = [
            threading.Thread(target=read, args=("a", app)),
            threading.Thread(target=read, args=("b", other)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert not set(got["a"]) & set(got["b"]), "an item was leased to both readers"
    assert len(got["a"]) + len(got["b"]) == 24
    assert got["a"] and got["b"], "both readers took part"


def test_the_stand_in_reader_gets_every_file_byte_for_byte(app: App, shared_data: Path) -> None:
    fd = feed(app, shared_data, 3)
    reader = FeedReader(app, fd.partner_id, fd.integration_id)
    assert reader.drain(limit=2) == 3
    original = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    assert all(files["original"] == original for files in reader.received.values())
    assert states(app, fd.integration_id) == ["delivered"] * 3


def test_pause_resume_retry_and_resend_keep_exports_on_the_feed(
    sqlite_app: App, shared_data: Path
) -> None:
    app = sqlite_app
    fd = feed(app, shared_data, 2)
    integrations.pause(app, fd.partner_id, fd.integration_id)
    assert states(app, fd.integration_id) == ["held", "held"]
    assert feeds.pull(app, fd.partner_id, fd.integration_id).items == []
    integrations.resume(app, fd.partner_id, fd.integration_id)
    assert states(app, fd.integration_id) == ["on_feed", "on_feed"], "back on the feed"
    assert claim(app.engine, "w", 10, timedelta(seconds=5)) == []

    page = feeds.pull(app, fd.partner_id, fd.integration_id, limit=1)
    old = page.items[0]
    documents.resend(app, fd.partner_id, old.document.id, [fd.integration_id])
    assert states(app, fd.integration_id) == ["cancelled", "on_feed", "on_feed"]
    refused(app, lambda: feeds.ack(app, fd.partner_id, fd.integration_id, old.id), Conflict)
    new = feeds.pull(app, fd.partner_id, fd.integration_id).items
    assert [i.document.id for i in new] == [fd.documents[1], old.document.id]
    assert new[1].version == 2 and new[1].export_key != old.export_key


def test_bad_input_is_refused_and_changes_nothing(sqlite_app: App, shared_data: Path) -> None:
    app = sqlite_app
    fd = feed(app, shared_data, 1)
    p, i = fd.partner_id, fd.integration_id
    refused(app, lambda: feeds.pull(app, p, i, limit=0), InvalidInput, "limit")
    refused(app, lambda: feeds.pull(app, p, i, limit=501), InvalidInput, "limit")
    refused(app, lambda: feeds.pull(app, p, i, cursor="not-a-cursor"), InvalidInput, "link")
    refused(app, lambda: feeds.pull(app, p, i, reader=""), InvalidInput, "reader")
    refused(app, lambda: feeds.pull(app, p, i, reader="x" * 101), InvalidInput, "reader")
    refused(app, lambda: feeds.pull(app, p, 999_999), NotFound)
    with reading(app.engine) as conn:
        item = conn.execute(select(exports_table.c.id)).scalar_one()
    refused(app, lambda: feeds.ack(app, p, i, item), Conflict, "not been fetched")
    refused(app, lambda: feeds.ack(app, p, i, 999_999), NotFound)
    refused(app, lambda: feeds.open_file(app, p, i, item, "nope"), NotFound, "no 'nope' file")
    values = {"base_url": "https://erp.example", "signing_secret": "whsec_" + "A" * 32}
    http = installations.install(app, p, "http", "Endpoint", values)
    other = integrations.add(app, p, fd.client_id, http.id, {})
    refused(app, lambda: feeds.pull(app, p, other.id), Conflict, "only an API integration")
    refused(
        app,
        lambda: installations.install(app, p, "api", "Bad", {"lease_minutes": 0}),
        InvalidInput,
    )
