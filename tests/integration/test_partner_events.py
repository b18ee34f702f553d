"""Partner events by webhook: recorded with the change they describe, sent signed (the
stand-in receiver checks every signature with its own code), through a worker kill."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.connectors.http.signing import new_secret
from passeur.delivery import outcomes
from passeur.delivery.claims import claim
from passeur.delivery.event_sender import EventSender
from passeur.delivery.outcomes import Outcome
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, feeds, integrations
from passeur.services import webhook_subscriptions as webhooks
from passeur.storage import schema
from passeur.storage.db import reading
from passeur.storage.tables import webhook_deliveries
from tests.conftest import make_settings
from tests.factories import (
    SAMPLE_INVOICE,
    add_integration,
    approve_invoices,
    firm,
    sftp_installation,
    upload_invoice,
)
from tests.integration.processes import spawn_worker, worker_env
from tests.integration.test_access import refused
from tests.integration.test_feeds import feed
from tests.integration.test_processes import poll

SECRET = new_secret()


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    settings = make_settings(tmp_path / "data", database_url, allowed_networks="127.0.0.0/8")
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET, keep_bodies=True))
    yield runner.start()
    runner.stop()


def deliveries(app: App) -> list[tuple[str, str, int]]:
    with reading(app.engine) as conn:
        query = select(
            webhook_deliveries.c.event_type,
            webhook_deliveries.c.state,
            webhook_deliveries.c.attempts,
        ).order_by(webhook_deliveries.c.id)
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def send_due(app: App) -> int:
    """Send until nothing is due (one at a time per subscription: its pacing)."""
    sender = EventSender(
        app.engine, app.secrets, app.settings.network_policy, name="test-sender",
        lease=timedelta(seconds=30), schedule=RetrySchedule.parse("1h"), poll=0.05,
    )  # fmt: skip

    async def once() -> int:
        try:
            total = 0
            while claimed := await sender.once():
                total += claimed
            return total
        finally:
            await sender.outbound.close()

    return asyncio.run(once())


def test_an_event_survives_a_killed_worker(
    app: App, receiver: HttpReceiver, shared_data: Path
) -> None:
    fd = feed(app, shared_data, 0)
    webhooks.add(
        app, fd.partner_id, receiver.url, event_types=["document.released"],
        secret=SECRET, allow_plain_http=True,
    )  # fmt: skip
    kind = DocumentKind.PURCHASE_INVOICE
    upload = upload_invoice(app, fd.partner_id, fd.client_id, shared_data / SAMPLE_INVOICE, kind)
    doc = documents.approve(app, fd.partner_id, upload.id)
    assert deliveries(app) == [("document.released", "pending", 0)], "recorded with the change"
    receiver.faults.delay = 30.0  # the first worker dies while its POST waits
    env = worker_env(app, PASSEUR_LEASE_SECONDS="2")
    doomed = spawn_worker(env)
    poll(lambda: deliveries(app)[0][1] == "running", "the worker sends the event")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert deliveries(app)[0][1] == "running", "its lease holds until it runs out"
    receiver.faults.delay = 0.0
    rescuer = spawn_worker(env)
    try:
        poll(lambda: deliveries(app)[0][1] == "delivered", "another worker delivers it", 30)
    finally:
        rescuer.send_signal(signal.SIGTERM)
        rescuer.communicate(timeout=30)
    assert deliveries(app) == [("document.released", "delivered", 2)]
    assert receiver.bad_signatures == 0 and len(receiver.accepted) == 1
    (got,) = receiver.accepted.values()
    body = json.loads(got.body or b"")
    assert body["type"] == "document.released" and body["data"]["document_id"] == doc.id
    assert got.webhook_id.startswith(body["id"]), "the webhook-id is the event's, on every try"


def test_events_are_filtered_signed_and_a_gone_endpoint_disables_its_subscription(
    sqlite_app: App, shared_data: Path, receiver: HttpReceiver, tmp_path: Path
) -> None:
    app = build(
        make_settings(
            tmp_path / "data", sqlite_app.settings.database_url, allowed_networks="127.0.0.0/8"
        )
    )
    fd = feed(app, shared_data, 1)
    types = ["export.delivered", "integration.status_changed"]
    sub, secret = webhooks.add(
        app, fd.partner_id, receiver.url, event_types=types, client_ids=[fd.client_id],
        secret=SECRET, allow_plain_http=True,
    )  # fmt: skip
    assert secret == SECRET and "secret" not in repr(
        webhooks.list_subscriptions(app, fd.partner_id)
    )
    item = feeds.pull(app, fd.partner_id, fd.integration_id).items[0]
    feeds.ack(app, fd.partner_id, fd.integration_id, item.id)
    integrations.pause(app, fd.partner_id, fd.integration_id)
    assert [d[0] for d in deliveries(app)] == types, "only the types asked for"
    assert send_due(app) == 2
    sent = sorted(json.loads(r.body or b"")["type"] for r in receiver.accepted.values())
    assert sent == types and receiver.bad_signatures == 0

    ok, said = asyncio.run(webhooks.test(app, fd.partner_id, sub.id))
    assert ok and said.startswith("200")
    receiver.faults.status = 410
    integrations.resume(app, fd.partner_id, fd.integration_id)
    send_due(app)
    (listed,) = webhooks.list_subscriptions(app, fd.partner_id)
    assert not listed.active and "410" in listed.disabled_reason
    integrations.pause(app, fd.partner_id, fd.integration_id)
    assert deliveries(app)[-1][1] == "failed" and len(deliveries(app)) == 3, "no more events"
    app.close()


def test_bad_subscriptions_are_refused_and_change_nothing(sqlite_app: App) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    p = f.partner_id
    https = "https://erp.example/hooks"
    refused(app, lambda: webhooks.add(app, p, "not a url"), InvalidInput)
    refused(app, lambda: webhooks.add(app, p, "http://erp.example/hooks"), InvalidInput)
    refused(app, lambda: webhooks.add(app, p, https, event_types=["x.y"]), InvalidInput)
    refused(app, lambda: webhooks.add(app, p, https, secret="plain"), InvalidInput)
    refused(app, lambda: webhooks.add(app, p, https, client_ids=[999_999]), NotFound)
    refused(app, lambda: webhooks.remove(app, p, 999_999), NotFound)


def test_a_recorded_delivery_is_an_event_only_for_a_partner_that_listens(
    app: App, receiver: HttpReceiver, sftp: SftpSandbox, shared_data: Path
) -> None:
    """The worker's record of delivered tries learns who listens from the documents' read
    (one statement less per trip): the listening partner's export gets its event, the
    other partner's none."""
    firms = [firm(app, n_clients=1, name=name) for name in ("Listens", "Quiet")]
    for f in firms:
        add_integration(
            app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp)
        )
        approve_invoices(app, f, shared_data)
    webhooks.add(
        app, firms[0].partner_id, receiver.url, event_types=["export.delivered"],
        secret=SECRET, allow_plain_http=True,
    )  # fmt: skip
    claims = claim(app.engine, "w", 10, timedelta(seconds=30))
    assert len(claims) == 2
    done = [(c, Outcome(delivered=True, receipt={})) for c in claims]
    assert outcomes.finish_many(app.engine, done, RetrySchedule.parse("1h")) == [True, True]
    assert deliveries(app) == [("export.delivered", "pending", 0)]
    with reading(app.engine) as conn:
        [payload] = conn.execute(select(webhook_deliveries.c.payload)).scalars()
    listened = next(c for c in claims if c.partner_id == firms[0].partner_id)
    assert payload["data"]["export_id"] == listened.export_id
