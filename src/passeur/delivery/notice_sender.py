"""Mailing notifications: a worker claims the due ones of a few people under a lease, one
batch per person (several causes make a digest), mails each batch, and records it behind
a fence (the batch's key, its try number and the sender). A sender that died leaves its
batches to whoever claims them once the lease runs out: the same rows, the same key, so
the same Message-ID. What that promises: nothing is lost; a mail is sent again only when
a sender died (or lost its lease) between the server's acceptance and the record, and
then carries the same Message-ID (SMTP cannot tell a sender whether an answer it never
got was a yes).

A refused message (5xx for its content) fails for good; every other failure (the relay
down, a refused login) is tried again later, the next try after a longer wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, select, update

from passeur.connectors.errors import ConnectorError, Rejected
from passeur.delivery import credential_health
from passeur.domain.clock import utcnow
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.domain.notices import Cause, MailState
from passeur.settings import Settings
from passeur.storage.db import transaction
from passeur.storage.secret_box import SecretBox
from passeur.storage.tables import notifications, users

if TYPE_CHECKING:
    from passeur.connectors.email.connector import EmailConnector
    from passeur.delivery.notice_mail import Line

# The e-mail connector (aiosmtplib) and the mail's wording (Babel) are imported when there
# is a notice to mail: most workers have no relay, and every one starts sooner without
# them (docs/decisions.md, start-up).

log = logging.getLogger("passeur.notices")
N = notifications
MAX_TRIES = 12
PEOPLE_PER_CLAIM = 20
# The operator chose the relay (it is no partner's input): every network may be reached,
# cloud metadata addresses still excepted.
_ANYWHERE = NetworkPolicy.parse("0.0.0.0/0,::/0")


def _due(now: Any) -> Any:
    """Waiting and due, or being sent by a sender whose lease ran out."""
    return and_(
        N.c.mail_state.in_([MailState.WAITING.value, MailState.SENDING.value]),
        N.c.mail_due_at <= now,
    )


@dataclass(frozen=True)
class Batch:
    key: str
    attempt: int
    ids: tuple[int, ...]
    email: str
    locale: str
    lines: tuple[Line, ...]


def claim(engine: Engine, sender: str, lease: timedelta) -> list[Batch]:
    from passeur.delivery import notice_mail

    now = utcnow()
    with transaction(engine) as conn:
        people = list(
            dict.fromkeys(
                conn.execute(
                    select(N.c.user_id).where(_due(now)).order_by(N.c.mail_due_at).limit(200)
                ).scalars()
            )
        )[:PEOPLE_PER_CLAIM]
        if not people:
            return []
        rows = conn.execute(
            select(N.c.id, N.c.user_id, N.c.mail_key, N.c.mail_attempts)
            .where(N.c.user_id.in_(people), _due(now))
            .order_by(N.c.id)
            .with_for_update(skip_locked=True)
        ).all()
        groups: dict[str, list[Any]] = defaultdict(list)
        for r in rows:  # a batch already tried keeps its key; new ones make one per person
            groups[r.mail_key or f"new-{r.user_id}"].append(r)
        claimed = []
        for key, members in groups.items():
            if key.startswith("new-"):
                key = f"psr-ntf-{members[0].user_id}-{members[0].id}"
            attempt = max(r.mail_attempts for r in members) + 1
            ids = tuple(r.id for r in members)
            conn.execute(
                update(N)
                .where(N.c.id.in_(ids))
                .values(
                    mail_state=MailState.SENDING.value,
                    mail_key=key,
                    mail_attempts=attempt,
                    lease_owner=sender,
                    mail_due_at=now + lease,
                )
            )
            claimed.append((key, attempt, ids, members[0].user_id))
        found = {
            r.id: r
            for r in conn.execute(
                select(N.c.id, N.c.cause, N.c.details).where(
                    N.c.id.in_([i for _, _, ids, _ in claimed for i in ids])
                )
            )
        }
        people_rows = {
            r.id: r
            for r in conn.execute(
                select(users.c.id, users.c.email, users.c.locale).where(users.c.id.in_(people))
            )
        }
    return [
        Batch(
            key,
            attempt,
            ids,
            people_rows[user_id].email,
            people_rows[user_id].locale,
            tuple(notice_mail.Line(Cause(found[i].cause), dict(found[i].details)) for i in ids),
        )
        for key, attempt, ids, user_id in claimed
    ]


def record(engine: Engine, batch: Batch, sender: str, error: ConnectorError | None) -> bool:
    """Move the batch on, only if this try still holds its lease; False if it lost it."""
    now = utcnow()
    values: dict[str, Any] = {"lease_owner": "", "mail_error": ""}
    if error is None:
        values.update(mail_state=MailState.SENT.value, mail_due_at=None, sent_at=now)
    elif isinstance(error, Rejected) or batch.attempt >= MAX_TRIES:
        values.update(mail_state=MailState.FAILED.value, mail_due_at=None)
        values["mail_error"] = error.message[:2000]
    else:  # 1, 2, 4 … minutes, at most 6 hours
        wait = timedelta(minutes=min(2 ** (batch.attempt - 1), 360))
        values.update(mail_state=MailState.WAITING.value, mail_due_at=now + wait)
        values["mail_error"] = error.message[:2000]
    with transaction(engine) as conn:
        kept = conn.execute(
            update(N)
            .where(
                N.c.mail_key == batch.key,
                N.c.id.in_(batch.ids),
                N.c.mail_state == MailState.SENDING.value,
                N.c.mail_attempts == batch.attempt,
                N.c.lease_owner == sender,
            )
            .values(**values)
        ).rowcount
    return kept > 0


def relay(settings: Settings) -> Target | None:
    """The operator's relay as the e-mail connector's target; None when none is set."""
    if not settings.smtp_host:
        return None
    config = {
        "host": settings.smtp_host,
        "port": settings.smtp_port,
        "security": settings.smtp_security,
        "username": settings.smtp_username,
        "sender_address": settings.smtp_sender,
        "ca_bundle": settings.smtp_ca_bundle,
        "timeout": 30,
    }
    secrets = {"password": settings.smtp_password.get_secret_value()}
    return Target(0, None, "email", config, secrets)


class NoticeSender:
    """Mails due notifications, and now and then looks for integrations that went quiet
    and sign-ins about to run out; one per worker process."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        settings: Settings,
        *,
        name: str,
        lease: timedelta,
        poll: float,
    ) -> None:
        self.engine, self.box, self.settings, self.name = engine, box, settings, name
        self.lease, self.poll = lease, poll
        self.target = relay(settings)
        self._connector: EmailConnector | None = None
        self.sent = 0

    @property
    def connector(self) -> EmailConnector:
        """The relay's connector, made on first use."""
        if self._connector is None:
            from passeur.connectors.email.connector import EmailConnector

            self._connector = EmailConnector(network=_ANYWHERE)
        return self._connector

    async def close(self) -> None:
        if self._connector is not None:
            await self._connector.close()

    async def run(self, stop: asyncio.Event) -> None:
        last_check = -1e9
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() - last_check >= self.settings.notice_check_seconds:
                    last_check = loop.time()
                    await asyncio.to_thread(credential_health.check, self.engine, self.box)
                done = await self.once()
            except Exception:  # the database may be briefly gone: try again
                log.warning("notifications: a round failed; trying again", exc_info=True)
                done = 0
            if done:
                continue
            try:
                async with asyncio.timeout(self.poll):
                    await stop.wait()
            except TimeoutError:
                pass

    async def once(self) -> int:
        """Claim the due batches, mail them, record them; how many were claimed."""
        if self.target is None:
            return 0
        batches = await asyncio.to_thread(claim, self.engine, self.name, self.lease)
        for batch in batches:
            error = await self.send(batch)
            kept = await asyncio.to_thread(record, self.engine, batch, self.name, error)
            self.sent += kept and error is None
        return len(batches)

    async def send(self, batch: Batch) -> ConnectorError | None:
        assert self.target is not None
        from passeur.delivery.notice_mail import compose

        s = self.settings
        mail = compose(
            batch.key, s.smtp_sender, s.smtp_sender_name, batch.email, batch.locale, batch.lines
        )
        try:
            await self.connector.send_mail(self.target, mail)
        except ConnectorError as exc:
            log.warning("notification mail %s to %s: %s", batch.key, batch.email, exc.message)
            return exc
        return None
