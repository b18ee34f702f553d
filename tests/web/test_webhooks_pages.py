"""Settings → Webhooks (administrators: add with the secret shown once, remove, test) and
Exports → Webhooks (the last events and their status, an accountant's clients only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from passeur.bootstrap import App, build
from passeur.delivery import events
from passeur.domain.events import EventType
from passeur.domain.partners import Access, Role
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.services import webhook_subscriptions as webhooks
from passeur.storage import schema
from passeur.storage.db import transaction
from passeur.storage.tables import webhook_deliveries
from tests.conftest import make_settings
from tests.factories import firm
from tests.web.browsing import signed_in, web_user
from tests.web.practice import snapshot

URL = "https://erp.example/hooks"
GOOD = {"url": URL, "event_types": ["export.failed"], "max_concurrent": "2"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    url = f"sqlite:///{tmp_path / 'passeur.db'}"
    built = build(make_settings(tmp_path / "data", url, allowed_networks="127.0.0.0/8"))
    schema.upgrade(built.engine)
    yield built
    built.close()


@dataclass
class Practice:
    partner_id: int
    clients: list[int]


@pytest.fixture
def p(app: App) -> Practice:
    f = firm(app, n_clients=2)
    made = Practice(f.partner_id, [c.id for c in f.clients])
    web_user(app, made.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    web_user(app, made.partner_id, "ada@firm.be", Role.ACCOUNTANT,
             assign={made.clients[0]: Access.EDIT})  # fmt: skip
    web_user(app, made.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    return made


def test_an_administrator_adds_a_webhook_and_sees_its_secret_once(app: App, p: Practice) -> None:
    browser = signed_in(app, "admin@firm.be")
    assert "Add a webhook" in browser.get("/settings/webhooks").text
    done = browser.post("/settings/webhooks", {**GOOD, "client_ids": [str(p.clients[1])]})
    assert done.status_code == 200 and "shown only now" in done.text
    (sub,) = webhooks.list_subscriptions(app, p.partner_id)
    assert sub.url == URL and sub.max_concurrent == 2 and sub.client_ids == {p.clients[1]}
    secret = done.text.split('id="f-secret" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("whsec_")
    again = browser.get("/settings/webhooks")
    assert URL in again.text and "Client 1" in again.text and secret not in again.text
    removed = browser.post(f"/settings/webhooks/{sub.id}/remove")
    assert removed.status_code == 200 and webhooks.list_subscriptions(app, p.partner_id) == []


REFUSED = [
    ({"url": "not a url"}, "url", "Enter the address of your endpoint"),
    ({"url": "http://erp.example/h"}, "url", "Enter the address of your endpoint"),
    ({"event_types": ["x.y"]}, "event_types", "Choose among the event types"),
    ({"max_concurrent": "5"}, "max_concurrent", "Choose 1 to 4 events at once."),
    ({"client_ids": ["999999"]}, "client_ids", "Choose among your clients."),
]


def test_a_refused_webhook_says_why_and_saves_nothing(app: App, p: Practice) -> None:
    browser = signed_in(app, "admin@firm.be")
    before = snapshot(app)
    for change, field, message in REFUSED:  # one firm for all (its setup is most of the cost)
        page = browser.post("/settings/webhooks", {**GOOD, **change})
        assert page.status_code == 400, change
        assert f'id="f-{field}-error" class="field-error">{message}' in page.text, change
        assert snapshot(app) == before, change


def test_only_administrators_manage_webhooks(app: App, p: Practice) -> None:
    sub, _ = webhooks.add(app, p.partner_id, URL)
    before = snapshot(app)
    for email in ("cm@firm.be", "ada@firm.be"):
        other = signed_in(app, email)
        assert other.get("/settings/webhooks").status_code == 404
        assert other.post("/settings/webhooks", GOOD).status_code == 403
        assert other.post(f"/settings/webhooks/{sub.id}/remove").status_code == 403
        assert other.post(f"/settings/webhooks/{sub.id}/test").status_code == 403
        assert "/settings/webhooks" not in other.get("/").text
    admin = signed_in(app, "admin@firm.be")
    admin.get("/settings/webhooks")
    assert admin.client.post("/settings/webhooks", data=GOOD).status_code == 403, "no CSRF"
    assert admin.client.post(f"/settings/webhooks/{sub.id}/remove").status_code == 403
    assert admin.post("/settings/webhooks/999999/remove").status_code == 404
    assert snapshot(app) == before


def test_a_test_event_reports_what_the_endpoint_answered(app: App, p: Practice) -> None:
    runner = ThreadedHttpReceiver(HttpReceiver(None, keep_bodies=True))
    receiver = runner.start()
    try:
        sub, _ = webhooks.add(app, p.partner_id, receiver.url, allow_plain_http=True)
        admin = signed_in(app, "admin@firm.be")
        admin.get("/settings/webhooks")
        assert "sample event was accepted (200" in admin.post(
            f"/settings/webhooks/{sub.id}/test").text  # fmt: skip
        receiver.faults.status = 503
        failed = admin.post(f"/settings/webhooks/{sub.id}/test")
        assert "was not accepted: 503" in failed.text
    finally:
        runner.stop()


def test_the_last_events_show_failures_to_whoever_reads_the_exports(app: App, p: Practice) -> None:
    webhooks.add(app, p.partner_id, URL)
    with transaction(app.engine) as conn:
        for client in p.clients:
            data = {"export_id": client}
            events.record(conn, p.partner_id, EventType.EXPORT_FAILED, data, client_id=client)
        conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.payload["data"]["client_id"].as_integer() == p.clients[0])
            .values(state="failed", last_error="500 Internal Server Error")
        )
    ada = signed_in(app, "ada@firm.be")
    assert "/exports/webhooks" in ada.get("/exports").text
    page = ada.get("/exports/webhooks")
    assert page.status_code == 200 and "500 Internal Server Error" in page.text
    assert page.text.count("<code>export.failed</code> <small") == 1, "her client's event only"
    admin = signed_in(app, "admin@firm.be").get("/settings/webhooks")
    assert admin.text.count("<code>export.failed</code> <small") == 2 and "Failed" in admin.text
