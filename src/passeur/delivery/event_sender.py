"""Sending partner events: due deliveries are claimed under a lease (like exports: SKIP
LOCKED on PostgreSQL, the one writer on SQLite), POSTed signed the Standard Webhooks way
through the shared outbound client, and recorded behind a fence (the try number and the
sender), so a sender that died leaves its deliveries to be taken over once their lease
runs out, and a late answer of a try that lost its lease changes nothing.

Transient failures (network, 5xx, 408, 429) follow the retry schedule, except that a 429
(or 503) with Retry-After is tried again when the endpoint said, and nothing else goes to
that subscription before then; 410 disables the subscription (the endpoint is gone); any
other answer fails the delivery. Each subscription has at most `max_concurrent` (1-4)
events in flight, however many workers run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, func, or_, select, update

from passeur.connectors import retry_after
from passeur.connectors.errors import ConnectorError
from passeur.connectors.http.signing import sign
from passeur.connectors.network import Guard
from passeur.domain.clock import utcnow
from passeur.domain.events import DeliveryState
from passeur.domain.network import NetworkPolicy
from passeur.domain.redaction import redact
from passeur.domain.retries import RetrySchedule
from passeur.storage.db import transaction
from passeur.storage.secret_box import SecretBox
from passeur.storage.tables import webhook_deliveries, webhook_subscriptions

if TYPE_CHECKING:
    from passeur.connectors.outbound import Outbound

log = logging.getLogger("passeur.events")
D = webhook_deliveries
S = webhook_subscriptions


def _due(now: Any) -> Any:
    """Pending or retrying and due, or running with an expired lease (its sender died)."""
    return and_(
        D.c.state.in_(
            [DeliveryState.PENDING.value, DeliveryState.RETRYING.value, DeliveryState.RUNNING.value]
        ),
        D.c.due_at <= now,
    )


@dataclass(frozen=True)
class Job:
    id: int
    attempt: int
    subscription_id: int
    url: str
    secret: str
    webhook_id: str
    body: bytes


def owner(subscription_id: int) -> str:
    """What a subscription's secret is sealed to (a copy under another row will not open)."""
    return f"webhook_subscription:{subscription_id}"


def claim(engine: Engine, box: SecretBox, sender: str, limit: int, lease: timedelta) -> list[Job]:
    """Due deliveries, paced per subscription: none while its endpoint asked us to wait
    (Retry-After), and no more in flight than its `max_concurrent`. A claimer locks the
    subscriptions it takes work for (skipping those another claimer holds), then counts
    their tries in flight, so the limit holds across worker processes."""
    now = utcnow()
    with transaction(engine) as conn:
        waiting = select(D.c.subscription_id).where(_due(now)).distinct()
        subs = conn.execute(
            select(S.c.id, S.c.max_concurrent)
            .where(
                S.c.id.in_(waiting),
                or_(S.c.paused_until.is_(None), S.c.paused_until <= now),
            )
            .order_by(S.c.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not subs:
            return []
        in_flight: dict[int, int] = dict(
            conn.execute(
                select(D.c.subscription_id, func.count())
                .where(
                    D.c.subscription_id.in_([s.id for s in subs]),
                    D.c.state == DeliveryState.RUNNING.value,
                    D.c.due_at > now,
                )
                .group_by(D.c.subscription_id)
            ).all()
        )
        ids: list[int] = []
        for s in subs:
            room = min(s.max_concurrent - in_flight.get(s.id, 0), limit - len(ids))
            if room > 0:
                ids += conn.execute(
                    select(D.c.id)
                    .where(D.c.subscription_id == s.id, _due(now))
                    .order_by(D.c.due_at, D.c.id)
                    .limit(room)
                    .with_for_update(skip_locked=True)
                ).scalars()
        if not ids:
            return []
        rows = conn.execute(
            update(D)
            .where(D.c.id.in_(ids), _due(now))
            .values(
                state=DeliveryState.RUNNING.value,
                attempts=D.c.attempts + 1,
                lease_owner=sender,
                due_at=now + lease,
                updated_at=now,
            )
            .returning(D.c.id, D.c.attempts, D.c.subscription_id, D.c.webhook_id, D.c.payload)
        ).all()
        found = {
            s.id: s
            for s in conn.execute(select(S).where(S.c.id.in_({r.subscription_id for r in rows})))
        }
    jobs = []
    for r in rows:
        s = found[r.subscription_id]
        secret = box.open(s.secret, owner(s.id))["secret"]
        body = json.dumps(r.payload, separators=(",", ":"), sort_keys=True).encode()
        jobs.append(Job(r.id, r.attempts, s.id, s.url, secret, r.webhook_id, body))
    return jobs


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: nothing answered
    message: str
    wait: float | None = None  # seconds the endpoint asked us to wait (Retry-After)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def send(outbound: Outbound, job: Job) -> Reply:
    """POST one event."""
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": job.webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(job.secret, job.webhook_id, stamp, job.body),
    }
    try:
        answer = await outbound.request("POST", job.url, headers=headers, body=job.body)
    except ConnectorError as exc:
        return Reply(None, redact(exc.message, [job.secret]))
    said = f"{answer.status} {answer.reason}".strip()
    wait = retry_after.parse(answer.headers.get("retry-after"))
    if answer.status == 429 or (answer.status == 503 and wait is not None):
        return Reply(answer.status, said, wait)
    return Reply(answer.status, said)


def record(engine: Engine, job: Job, sender: str, reply: Reply, schedule: RetrySchedule) -> bool:
    """Move the delivery on, only if this try still holds its lease; False if it lost it."""
    now = utcnow()
    fence = and_(
        D.c.id == job.id,
        D.c.state == DeliveryState.RUNNING.value,
        D.c.attempts == job.attempt,
        D.c.lease_owner == sender,
    )
    values: dict[str, Any] = {"lease_owner": "", "updated_at": now, "last_error": ""}
    status, message = reply.status, reply.message
    gone = status == 410
    paused_until = None
    if reply.ok:
        values.update(state=DeliveryState.DELIVERED.value, due_at=None, delivered_at=now)
    elif gone or (status is not None and status < 500 and status not in (408, 429)):
        values.update(state=DeliveryState.FAILED.value, due_at=None, last_error=message)
    else:
        delay = schedule.delay_after(job.attempt)
        if delay is None:
            values.update(state=DeliveryState.FAILED.value, due_at=None, last_error=message)
        else:
            if reply.wait is not None:  # the endpoint says when: not before, not much later
                delay = timedelta(seconds=reply.wait)
                paused_until = now + delay
            values.update(
                state=DeliveryState.RETRYING.value, due_at=now + delay, last_error=message
            )
    with transaction(engine) as conn:
        if gone or paused_until is not None:  # the subscription's row first, as claims lock it
            conn.execute(select(S.c.id).where(S.c.id == job.subscription_id).with_for_update())
        kept = conn.execute(update(D).where(fence).values(**values)).rowcount == 1
        if kept and paused_until is not None:  # nobody calls it before it said
            conn.execute(
                update(S)
                .where(
                    S.c.id == job.subscription_id,
                    or_(S.c.paused_until.is_(None), S.c.paused_until < paused_until),
                )
                .values(paused_until=paused_until)
            )
        if kept and gone:  # the endpoint is gone for good: stop sending it anything
            conn.execute(
                update(S)
                .where(S.c.id == job.subscription_id)
                .values(
                    active=False, disabled_reason=f"the endpoint answered {message}", updated_at=now
                )
            )
            conn.execute(
                update(D)
                .where(
                    D.c.subscription_id == job.subscription_id,
                    D.c.state.in_([DeliveryState.PENDING.value, DeliveryState.RETRYING.value]),
                )
                .values(
                    state=DeliveryState.FAILED.value,
                    due_at=None,
                    last_error="subscription disabled",
                )
            )
    return kept


class EventSender:
    """Claims and sends due events until stopped; one per worker process."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        network: NetworkPolicy,
        *,
        name: str,
        lease: timedelta,
        schedule: RetrySchedule,
        poll: float,
        batch: int = 20,
    ) -> None:
        self.engine, self.box, self.name = engine, box, name
        self.lease, self.schedule, self.poll, self.batch = lease, schedule, poll, batch
        self.network = network
        # Made at the first event: a worker starts without loading the HTTP client.
        self._outbound: Outbound | None = None
        self.sent = 0

    @property
    def outbound(self) -> Outbound:
        if self._outbound is None:
            from passeur.connectors.outbound import Outbound

            self._outbound = Outbound(Guard(self.network), timeout=30.0)
        return self._outbound

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        try:
            while not stop.is_set():
                try:
                    done = await self.once()
                except Exception:  # the database may be briefly gone: try again
                    log.warning("sending events failed; trying again", exc_info=True)
                    done = 0
                if done:
                    continue
                try:
                    async with asyncio.timeout(self.poll):
                        await (wake or stop).wait()
                except TimeoutError:
                    pass
        finally:
            if self._outbound is not None:
                await self._outbound.close()

    async def once(self) -> int:
        """Claim one batch, send it, record it; how many were claimed."""
        jobs = await asyncio.to_thread(
            claim, self.engine, self.box, self.name, self.batch, self.lease
        )
        if not jobs:
            return 0
        replies = await asyncio.gather(*(send(self.outbound, j) for j in jobs))
        for job, reply in zip(jobs, replies, strict=True):
            kept = await asyncio.to_thread(
                record, self.engine, job, self.name, reply, self.schedule
            )
            self.sent += kept and reply.ok
        return len(jobs)
