"""Sending partner events: due deliveries are claimed under a lease (like exports: SKIP
LOCKED on PostgreSQL, the one writer on SQLite), POSTed signed the Standard Webhooks way
through the shared outbound client, and recorded behind a fence (the try number and the
sender), so a sender that died leaves its deliveries to be taken over once their lease
runs out, and a late answer of a try that lost its lease changes nothing.

Transient failures (network, 5xx, 408, 429) follow the retry schedule; 410 disables the
subscription (the endpoint is gone); any other answer fails the delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, select, update

from passeur.connectors.errors import ConnectorError
from passeur.connectors.http.signing import sign
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.clock import utcnow
from passeur.domain.events import DeliveryState
from passeur.domain.network import NetworkPolicy
from passeur.domain.redaction import redact
from passeur.domain.retries import RetrySchedule
from passeur.storage.db import transaction
from passeur.storage.secret_box import SecretBox
from passeur.storage.tables import webhook_deliveries, webhook_subscriptions

log = logging.getLogger("passeur.events")
D = webhook_deliveries


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
    now = utcnow()
    with transaction(engine) as conn:
        ids = list(
            conn.execute(
                select(D.c.id)
                .where(_due(now))
                .order_by(D.c.due_at, D.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
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
        subs = {
            s.id: s
            for s in conn.execute(
                select(webhook_subscriptions).where(
                    webhook_subscriptions.c.id.in_({r.subscription_id for r in rows})
                )
            )
        }
    jobs = []
    for r in rows:
        s = subs[r.subscription_id]
        secret = box.open(s.secret, owner(s.id))["secret"]
        body = json.dumps(r.payload, separators=(",", ":"), sort_keys=True).encode()
        jobs.append(Job(r.id, r.attempts, s.id, s.url, secret, r.webhook_id, body))
    return jobs


async def send(outbound: Outbound, job: Job) -> tuple[int | None, str]:
    """POST one event; (status, message), status None when nothing answered."""
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
        return None, redact(exc.message, [job.secret])
    return answer.status, f"{answer.status} {answer.reason}".strip()


def record(
    engine: Engine, job: Job, sender: str, status: int | None, message: str, schedule: RetrySchedule
) -> bool:
    """Move the delivery on, only if this try still holds its lease; False if it lost it."""
    now = utcnow()
    fence = and_(
        D.c.id == job.id,
        D.c.state == DeliveryState.RUNNING.value,
        D.c.attempts == job.attempt,
        D.c.lease_owner == sender,
    )
    values: dict[str, Any] = {"lease_owner": "", "updated_at": now, "last_error": ""}
    gone = status == 410
    if status is not None and 200 <= status < 300:
        values.update(state=DeliveryState.DELIVERED.value, due_at=None, delivered_at=now)
    elif gone or (status is not None and status < 500 and status not in (408, 429)):
        values.update(state=DeliveryState.FAILED.value, due_at=None, last_error=message)
    else:
        delay = schedule.delay_after(job.attempt)
        if delay is None:
            values.update(state=DeliveryState.FAILED.value, due_at=None, last_error=message)
        else:
            values.update(
                state=DeliveryState.RETRYING.value, due_at=now + delay, last_error=message
            )
    with transaction(engine) as conn:
        kept = conn.execute(update(D).where(fence).values(**values)).rowcount == 1
        if kept and gone:  # the endpoint is gone for good: stop sending it anything
            conn.execute(
                update(webhook_subscriptions)
                .where(webhook_subscriptions.c.id == job.subscription_id)
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
        self.outbound = Outbound(Guard(network), timeout=30.0)
        self.sent = 0

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
            await self.outbound.close()

    async def once(self) -> int:
        """Claim one batch, send it, record it; how many were claimed."""
        jobs = await asyncio.to_thread(
            claim, self.engine, self.box, self.name, self.batch, self.lease
        )
        answers = await asyncio.gather(*(send(self.outbound, j) for j in jobs))
        for job, (status, message) in zip(jobs, answers, strict=True):
            kept = await asyncio.to_thread(
                record, self.engine, job, self.name, status, message, self.schedule
            )
            self.sent += kept and status is not None and 200 <= status < 300
        return len(jobs)
