"""Notifications: recorded with the change that causes them, mailed by the worker through
the e-mail extension's SMTP code to the real SMTP stand-in, to the right people only, in
their language, at most once an hour per integration and cause, in digests when chosen,
and neither lost nor doubled (beyond what SMTP allows) when a sender dies mid-send."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.connectors import oauth
from passeur.delivery import credential_health, notice_sender, notices
from passeur.delivery.notice_sender import NoticeSender
from passeur.delivery.worker import Worker
from passeur.domain.access import Actor
from passeur.domain.errors import Forbidden, InvalidInput, NotFound
from passeur.domain.notices import Cause, MailState, Mode
from passeur.domain.partners import Access, Role
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.sandbox.smtp_server import ReceivedMail, SmtpSandbox
from passeur.services import (
    actors,
    installations,
    integrations,
    notifications,
    oauth_grants,
    partners,
)
from passeur.settings import Settings
from passeur.storage import schema
from passeur.storage.db import reading, transaction
from passeur.storage.tables import notifications as notification_rows
from tests.clock import LedgerClock
from tests.conftest import make_settings
from tests.factories import Firm, approve_invoices, firm
from tests.integration.test_access import refused
from tests.integration.test_http_email import SECRET, http_values

LEASE = timedelta(seconds=30)


@pytest.fixture
def smtp() -> Iterator[SmtpSandbox]:
    server = SmtpSandbox(security="none").start()
    yield server
    server.stop()


def _app(folder: Path, database_url: str, smtp: SmtpSandbox) -> App:
    settings = make_settings(
        folder / "data",
        database_url,
        allowed_networks="127.0.0.0/8",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_sender="notices@firm.example",
    )
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    return built


@pytest.fixture
def app(tmp_path: Path, database_url: str, smtp: SmtpSandbox) -> Iterator[App]:
    built = _app(tmp_path, database_url, smtp)
    yield built
    built.close()


@pytest.fixture
def lite(tmp_path: Path, smtp: SmtpSandbox) -> Iterator[App]:
    built = _app(tmp_path, f"sqlite:///{tmp_path / 'passeur.db'}", smtp)
    yield built
    built.close()


@dataclass
class People:
    partner_id: int
    client_id: int
    integration_id: int
    admin: Actor
    accountant: Actor  # assigned to the client (view access)
    elsewhere: Actor  # an accountant of another client
    manager: Actor  # a client manager
    other_firm: Actor  # the other firm's administrator
    firm: Firm


def user(app: App, partner_id: int, email: str, locale: str, *roles: Role) -> Actor:
    made = partners.add_user(app, partner_id, email, email, set(roles), locale=locale)
    return actors.for_user(app, made.id)


def people(app: App, url: str = "https://erp.example") -> People:
    f = firm(app, n_clients=2)
    client, other_client = f.clients[0].id, f.clients[1].id
    inst = installations.install(app, f.partner_id, "http", "ERP", http_values(url))
    integration = integrations.add(app, f.partner_id, client, inst.id, {})
    admin = user(app, f.partner_id, "admin@firm.example", "fr", Role.ADMINISTRATOR)
    accountant = user(app, f.partner_id, "anna@firm.example", "nl", Role.ACCOUNTANT)
    partners.assign(app, f.partner_id, accountant.user_id or 0, client, Access.VIEW)
    elsewhere = user(app, f.partner_id, "bert@firm.example", "en", Role.ACCOUNTANT)
    partners.assign(app, f.partner_id, elsewhere.user_id or 0, other_client, Access.EDIT)
    manager = user(app, f.partner_id, "carl@firm.example", "en", Role.CLIENT_MANAGER)
    partners.add_user(
        app, f.partner_id, "boss@client.example", "Boss", {Role.BUSINESS}, client_id=client
    )
    g = firm(app, n_clients=1, name="Other firm")
    other = user(app, g.partner_id, "admin@other.example", "en", Role.ADMINISTRATOR)
    other_inst = installations.install(app, g.partner_id, "http", "ERP", http_values(url))
    integrations.add(app, g.partner_id, g.clients[0].id, other_inst.id, {})
    return People(
        f.partner_id, client, integration.id, admin, accountant, elsewhere, manager, other, f
    )


def sender(app: App, name: str = "mailer") -> NoticeSender:
    return NoticeSender(
        app.engine, app.secrets, app.settings, name=name, lease=LEASE, poll=0.05
    )  # fmt: skip


def mail_due(app: App, name: str = "mailer") -> int:
    """Mail until nothing is due; how many batches were claimed."""
    s = sender(app, name)

    async def run() -> int:
        total = 0
        while claimed := await s.once():
            total += claimed
        return total

    return asyncio.run(run())


def tell(app: App, cause: Cause, integration_id: int, reason: str = "") -> int:
    with transaction(app.engine) as conn:
        return notices.record(conn, cause, integration_id, reason=reason)


def subject(mail: ReceivedMail) -> str:
    return str(make_header(decode_header(str(mail.parsed()["Subject"]))))


def by_recipient(smtp: SmtpSandbox) -> dict[str, list[ReceivedMail]]:
    found: dict[str, list[ReceivedMail]] = {}
    for m in smtp.messages:
        for to in m.rcpt_tos:
            found.setdefault(to, []).append(m)
    return found


def mail_states(app: App) -> list[str]:
    with reading(app.engine) as conn:
        query = select(notification_rows.c.mail_state).order_by(notification_rows.c.id)
        return list(conn.execute(query).scalars())


def test_a_parked_integration_tells_the_clients_people_in_their_language(
    app: App, smtp: SmtpSandbox, shared_data: Path
) -> None:
    """End to end: the target answers 410, the worker parks the integration and records
    the notification in that transaction; mailed to the administrators and the assigned
    accountant only, each in their language, and listed for them in the UI."""
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET))
    receiver = runner.start()
    try:
        p = people(app, receiver.url)
        receiver.faults.status = 410
        approve_invoices(app, p.firm, shared_data, 1)
        asyncio.run(Worker(app, concurrency=1).run(asyncio.Event(), drain=True))
    finally:
        runner.stop()
    mail_due(app)
    got = by_recipient(smtp)
    assert set(got) == {"admin@firm.example", "anna@firm.example"}
    [to_admin], [to_anna] = got["admin@firm.example"], got["anna@firm.example"]
    assert subject(to_admin) == "passeur : ERP (Client 0) a été déconnecté"
    assert subject(to_anna) == "passeur: ERP (Client 0) werd losgekoppeld"
    assert "410" in to_admin.parsed().get_content()
    assert to_admin.message_id != to_anna.message_id
    assert set(mail_states(app)) == {MailState.SENT.value}
    for actor, unread in [(p.admin, 1), (p.accountant, 1), (p.elsewhere, 0), (p.manager, 0)]:
        assert actor.user_id is not None
        count = notifications.unread_count(app, p.partner_id, actor.user_id, actor=actor)
        assert count == unread
    assert p.admin.user_id is not None
    [notice] = notifications.list_mine(app, p.partner_id, p.admin.user_id, actor=p.admin)
    assert notice.cause is Cause.INTEGRATION_DISCONNECTED
    assert notice.integration_id == p.integration_id
    assert notifications.mark_read(app, p.partner_id, p.admin.user_id, actor=p.admin) == 1
    assert notifications.unread_count(app, p.partner_id, p.admin.user_id, actor=p.admin) == 0


def test_at_most_one_mail_an_hour_per_integration_and_cause(
    app: App, smtp: SmtpSandbox, clock: LedgerClock
) -> None:
    p = people(app)
    clock.freeze()
    for _ in range(3):
        assert tell(app, Cause.EXPORT_FAILED, p.integration_id, "500 from the ERP") == 2
    tell(app, Cause.INTEGRATION_NEEDS_ATTENTION, p.integration_id)  # another cause: mailed
    mail_due(app)
    [first] = by_recipient(smtp)["admin@firm.example"]  # due together: one mail
    lines = [x for x in first.parsed().get_content().splitlines() if x.startswith("- ")]
    assert len(lines) == 2, lines  # one per cause: the repeated failures were capped
    clock.advance(timedelta(minutes=59))
    tell(app, Cause.EXPORT_FAILED, p.integration_id)
    assert mail_due(app) == 0
    clock.advance(timedelta(minutes=2))
    tell(app, Cause.EXPORT_FAILED, p.integration_id)
    mail_due(app)
    assert len(by_recipient(smtp)["admin@firm.example"]) == 2
    states = mail_states(app)
    assert states.count(MailState.CAPPED.value) == 2 * 3  # every capped one is still listed
    assert p.admin.user_id is not None
    assert len(notifications.list_mine(app, p.partner_id, p.admin.user_id)) == 6


def test_a_digest_groups_several_causes_and_a_person_may_choose_otherwise(
    lite: App, smtp: SmtpSandbox, clock: LedgerClock
) -> None:
    app = lite
    p = people(app)
    assert p.accountant.user_id is not None
    notifications.set_settings(app, p.partner_id, "hourly", 3, actor=p.admin)
    notifications.set_user_mode(
        app, p.partner_id, p.accountant.user_id, "immediate", actor=p.accountant
    )
    clock.freeze()
    tell(app, Cause.EXPORT_FAILED, p.integration_id, "first reason")
    tell(app, Cause.EXPORT_NEEDS_ATTENTION, p.integration_id)
    tell(app, Cause.NO_RECENT_EXPORT, p.integration_id)
    mail_due(app)
    assert set(by_recipient(smtp)) == {"anna@firm.example"}  # her own choice: at once
    clock.advance(timedelta(hours=1))
    mail_due(app)
    [digest] = by_recipient(smtp)["admin@firm.example"]
    assert subject(digest) == "passeur : 3 notifications"
    text = digest.parsed().get_content()
    assert "first reason" in text and text.count("ERP (Client 0)") == 3
    assert len(by_recipient(smtp)["anna@firm.example"]) == 1, "hers went out as one too"


def test_a_sender_killed_mid_send_loses_nothing_and_resends_the_same_message(
    lite: App, smtp: SmtpSandbox, clock: LedgerClock
) -> None:
    """SMTP cannot say whether a message whose answer never came went through: a sender
    that died after the server took it is replaced once its lease runs out, and the
    mail goes again with the same Message-ID; nothing is lost, and no third copy."""
    app = lite
    p = people(app)
    clock.freeze()
    tell(app, Cause.EXPORT_FAILED, p.integration_id)
    dead = sender(app, "dead")
    batches = notice_sender.claim(app.engine, "dead", LEASE)
    assert len(batches) == 2
    asyncio.run(dead.send(batches[0]))  # the server took it; the sender died before recording
    assert mail_due(app, "alive") == 0, "a live lease is not taken over"
    clock.advance(LEASE + timedelta(seconds=1))
    taken = notice_sender.claim(app.engine, "alive", LEASE)
    assert sorted(b.key for b in taken) == sorted(b.key for b in batches), "same mails"
    assert not notice_sender.record(app.engine, batches[0], "dead", None), "the dead lost it"
    alive = sender(app, "alive")
    for batch in taken:
        assert notice_sender.record(app.engine, batch, "alive", asyncio.run(alive.send(batch)))
    assert mail_due(app, "alive") == 0
    ids = [m.message_id for m in smtp.messages]
    assert len(ids) == 3 and len(set(ids)) == 2, "resent under the same Message-ID"
    assert set(mail_states(app)) == {MailState.SENT.value}
    # The connection drops after the data went out: tried again later, same Message-ID.
    tell(app, Cause.INTEGRATION_NEEDS_ATTENTION, p.integration_id)
    smtp.faults.drop_mid_message = True
    assert mail_due(app) == 2
    assert set(mail_states(app)[-2:]) == {MailState.WAITING.value}
    smtp.faults.drop_mid_message = False
    clock.advance(timedelta(minutes=1))
    assert mail_due(app) == 2
    assert set(mail_states(app)) == {MailState.SENT.value}


def test_bad_settings_are_refused_and_change_nothing(lite: App, smtp: SmtpSandbox) -> None:
    app = lite
    p = people(app)
    admin, anna = p.admin.user_id or 0, p.accountant.user_id or 0
    refused(app, lambda: notifications.set_settings(app, p.partner_id, "weekly", 3), InvalidInput)
    refused(app, lambda: notifications.set_settings(app, p.partner_id, "daily", 0), InvalidInput)
    refused(app, lambda: notifications.set_settings(app, p.partner_id, "daily", 91), InvalidInput)
    refused(app, lambda: notifications.set_user_mode(app, p.partner_id, anna, "x"), InvalidInput)
    refused(
        app,
        lambda: notifications.set_settings(app, p.partner_id, "daily", 3, actor=p.accountant),
        Forbidden,
    )
    refused(
        app,
        lambda: notifications.set_user_mode(app, p.partner_id, admin, "daily", actor=p.accountant),
        Forbidden,
    )
    refused(
        app,
        lambda: notifications.list_mine(app, p.partner_id, anna, actor=p.other_firm),
        NotFound,
    )
    with pytest.raises(ValidationError):
        Settings(smtp_sender="notices@firm.example\r\nBcc: spy@evil.example")
    assert notifications.get_settings(app, p.partner_id).mode is Mode.IMMEDIATE


def test_quiet_integrations_and_expiring_sign_ins_are_noticed_once_a_day(
    lite: App, smtp: SmtpSandbox, clock: LedgerClock, shared_data: Path
) -> None:
    app = lite
    p = people(app)
    notifications.set_settings(app, p.partner_id, "immediate", 2, actor=p.admin)
    approve_invoices(app, p.firm, shared_data, 1)  # waits: no worker runs
    assert credential_health.check(app.engine, app.secrets) == 0, "not two days yet"
    clock.advance(timedelta(days=2, minutes=1))
    assert credential_health.check(app.engine, app.secrets) == 2
    assert credential_health.check(app.engine, app.secrets) == 0, "once a day"
    # A sign-in whose refresh token runs out in three days, as the provider said.
    box = installations.install(app, p.partner_id, "dropbox", "Dropbox", {})
    integrations.add(app, p.partner_id, p.client_id, box.id, {})
    ends = time.time() + clock.offset.total_seconds() + 3 * 86400
    grant = oauth.Grant("access", time.time() + 600, "refresh", 600, refresh_expires_at=ends)
    oauth_grants.store(app, p.partner_id, box.id, grant)
    assert credential_health.check(app.engine, app.secrets) == 2
    mail_due(app)
    [digest] = by_recipient(smtp)["admin@firm.example"]  # both due now: one mail
    text = digest.parsed().get_content()
    assert "Rien n'est parvenu à ERP (Client 0) depuis 2 jours" in text
    assert "La connexion de Dropbox (Client 0) expire le" in text
