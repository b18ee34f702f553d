"""Pacing of partner events per subscription: no more in flight than its concurrency
(across senders), and nothing sent before the time its endpoint's Retry-After said."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.delivery import event_sender, events
from passeur.delivery.event_sender import EventSender, Reply
from passeur.domain.errors import InvalidInput
from passeur.domain.events import EventType
from passeur.domain.retries import RetrySchedule
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.services import webhook_subscriptions as webhooks
from passeur.storage import schema
from passeur.storage.db import reading, transaction
from passeur.storage.tables import webhook_deliveries
from tests.clock import LedgerClock
from tests.conftest import make_settings
from tests.factories import firm
from tests.integration.test_access import refused
from tests.integration.test_partner_events import SECRET

LEASE = timedelta(seconds=30)
SCHEDULE = RetrySchedule.parse("1m,1m,1m")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    url = f"sqlite:///{tmp_path / 'passeur.db'}"
    built = build(make_settings(tmp_path / "data", url, allowed_networks="127.0.0.0/8"))
    schema.upgrade(built.engine)
    yield built
    built.close()


def released(app: App, partner_id: int, n: int) -> None:
    with transaction(app.engine) as conn:
        for i in range(n):
            events.record(conn, partner_id, EventType.DOCUMENT_RELEASED, {"document_id": i})


def claim(app: App, sender: str) -> Counter[int]:
    jobs = event_sender.claim(app.engine, app.secrets, sender, 20, LEASE)
    return Counter(j.subscription_id for j in jobs)


def test_no_subscription_has_more_in_flight_than_its_concurrency(
    app: App, clock: LedgerClock
) -> None:
    clock.freeze()
    p = firm(app, n_clients=1).partner_id
    two, _ = webhooks.add(app, p, "https://erp.example/a", max_concurrent=2)
    one, _ = webhooks.add(app, p, "https://erp.example/b")
    released(app, p, 5)
    assert claim(app, "a") == {two.id: 2, one.id: 1}
    assert claim(app, "b") == {}, "another sender finds no room"
    assert claim(app, "a") == {}, "nor does the same sender"
    clock.advance(LEASE + timedelta(seconds=1))
    taken = event_sender.claim(app.engine, app.secrets, "b", 20, LEASE)
    assert Counter(j.subscription_id for j in taken) == {two.id: 2, one.id: 1}, "taken over"
    assert event_sender.record(app.engine, taken[0], "b", Reply(200, "200 OK"), SCHEDULE)
    assert claim(app, "a") == {taken[0].subscription_id: 1}, "one done: room for one more"


def test_retry_after_holds_back_every_event_of_the_subscription(
    app: App, clock: LedgerClock
) -> None:
    clock.freeze()
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET, keep_bodies=True))
    receiver = runner.start()
    try:
        p = firm(app, n_clients=1).partner_id
        webhooks.add(app, p, receiver.url, secret=SECRET, allow_plain_http=True)
        released(app, p, 2)
        receiver.faults.status, receiver.faults.times = 429, 1
        receiver.faults.retry_after = "120"
        sender = EventSender(
            app.engine, app.secrets, app.settings.network_policy, name="s",
            lease=LEASE, schedule=SCHEDULE, poll=0.05,
        )  # fmt: skip

        async def steps() -> None:
            try:
                assert await sender.once() == 1
                with reading(app.engine) as conn:
                    first = conn.execute(select(webhook_deliveries).order_by("id")).first()
                assert first is not None and first.state == "retrying"
                assert first.due_at - first.updated_at == timedelta(seconds=120), "when it said"
                (sub,) = webhooks.list_subscriptions(app, p)
                assert sub.paused_until == first.due_at
                clock.advance(timedelta(seconds=119))
                assert await sender.once() == 0, "the other event waits too"
                clock.advance(timedelta(seconds=1))
                receiver.faults.retry_after = None
                assert await sender.once() == 1 and await sender.once() == 1
            finally:
                await sender.outbound.close()

        asyncio.run(steps())
        assert len(receiver.accepted) == 2 and receiver.bad_signatures == 0
    finally:
        runner.stop()


@pytest.mark.parametrize("n", [0, 5])
def test_a_concurrency_out_of_range_is_refused(app: App, n: int) -> None:
    p = firm(app, n_clients=1).partner_id
    refused(app, lambda: webhooks.add(app, p, "https://erp.example/a", max_concurrent=n),
            InvalidInput)  # fmt: skip
