"""Notifications in the partner space: the header's unread count, the person's list (only
theirs), marking read, and Settings → Notifications (administrators set the firm's
choice; everyone their own; a bad value is refused and nothing changes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from passeur.bootstrap import App, build
from passeur.delivery import notices
from passeur.domain.notices import Cause, Mode
from passeur.domain.partners import Access, Role
from passeur.services import installations, integrations, notifications
from passeur.storage import schema
from passeur.storage.db import transaction
from tests.conftest import make_settings
from tests.factories import firm
from tests.web.browsing import signed_in, web_user
from tests.web.practice import snapshot


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    url = f"sqlite:///{tmp_path / 'passeur.db'}"
    built = build(make_settings(tmp_path / "data", url))
    schema.upgrade(built.engine)
    yield built
    built.close()


def practice(app: App) -> tuple[int, int, int]:
    f = firm(app, n_clients=2)
    admin = web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    ada = web_user(app, f.partner_id, "ada@firm.be", Role.ACCOUNTANT,
                   assign={f.clients[1].id: Access.EDIT})  # fmt: skip
    values = {"base_url": "https://erp.example", "signing_secret": "whsec_" + "A" * 32}
    inst = installations.install(app, f.partner_id, "http", "ERP", values)
    integration = integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {})
    with transaction(app.engine) as conn:
        notices.record(conn, Cause.EXPORT_FAILED, integration.id, reason="503 from <ERP>")
    return f.partner_id, admin, ada


def test_the_header_counts_unread_and_the_list_shows_only_mine(app: App) -> None:
    partner_id, admin, _ = practice(app)
    browser = signed_in(app, "admin@firm.be", **{"Accept-Language": "nl"})
    home = browser.get("/").text
    assert 'href="/notifications"' in home and '<span class="badge">1' in home
    page = browser.get("/notifications").text
    assert "Een export naar ERP (Client 0) is mislukt" in page
    assert "503 from &lt;ERP&gt;" in page  # the reason is text, escaped
    after = browser.post("/notifications/read").text
    assert '<span class="badge">' not in after
    assert notifications.unread_count(app, partner_id, admin) == 0
    other = signed_in(app, "ada@firm.be")  # not assigned to that client: told nothing
    assert "No notification." in other.get("/notifications").text


def test_settings_are_set_by_administrators_and_bad_values_change_nothing(app: App) -> None:
    partner_id, _, ada = practice(app)
    admin = signed_in(app, "admin@firm.be")
    saved = admin.post("/settings/notifications", {"mode": "daily", "stale_days": "5"})
    assert saved.status_code == 200 and "Saved." in saved.text
    assert notifications.get_settings(app, partner_id) == notices.FirmSettings(Mode.DAILY, 5)
    before = snapshot(app)
    for bad in ({"mode": "weekly", "stale_days": "5"}, {"mode": "daily", "stale_days": "0"}):
        refused = admin.post("/settings/notifications", bad)
        assert refused.status_code == 400 and 'aria-invalid="true"' in refused.text
    assert admin.post("/settings/notifications/mine", {"mode": "never"}).status_code == 400
    accountant = signed_in(app, "ada@firm.be")
    assert "Administrators change these." in accountant.get("/settings/notifications").text
    forbidden = accountant.post("/settings/notifications", {"mode": "hourly", "stale_days": "3"})
    assert forbidden.status_code == 403
    assert snapshot(app) == before
    mine = accountant.post("/settings/notifications/mine", {"mode": "immediate"})
    assert mine.status_code == 200
    assert notifications.user_mode(app, partner_id, ada) is Mode.IMMEDIATE
