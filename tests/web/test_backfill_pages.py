"""An integration's backfill in the partner space: dates and a dry run, then the run's
progress (polled), Stop and Resume; bad dates are shown and change nothing."""

from __future__ import annotations

from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.clock import utcnow
from passeur.domain.partners import Access, Role
from tests.factories import add_integration, approve_invoices, firm
from tests.integration.test_integrations_ui_services import offline_sftp
from tests.web.browsing import signed_in, web_user
from tests.web.practice import snapshot


def test_dry_run_start_progress_stop_and_resume(sqlite_app: App, shared_data: Path) -> None:
    f = firm(sqlite_app, n_clients=1)
    pid, client = f.partner_id, f.clients[0]
    docs = approve_invoices(sqlite_app, f, shared_data, 2)
    integ = add_integration(sqlite_app, pid, client.id, offline_sftp(sqlite_app, pid))
    web_user(sqlite_app, pid, "admin@firm.be", Role.ADMINISTRATOR)
    browser = signed_in(sqlite_app, "admin@firm.be")
    tab = browser.get(f"/clients/{client.id}/integrations").text
    assert f'href="/integrations/{integ}/backfill"' in tab

    day = f"{utcnow():%Y-%m-%d}"
    before = snapshot(sqlite_app)
    dry = browser.get(f"/integrations/{integ}/backfill", params={"since": day, "until": day})
    assert dry.status_code == 200 and "2 documents would be sent" in dry.text
    assert f'href="/documents/{docs[0]}"' in dry.text
    bad = browser.get(
        f"/integrations/{integ}/backfill", params={"since": day, "until": "2020-01-01"}
    )
    assert bad.status_code == 400 and "before the since date" in bad.text
    assert snapshot(sqlite_app) == before

    started = browser.post(f"/integrations/{integ}/backfill", {"since": day, "until": day})
    assert started.status_code == 200 and 'hx-post="/backfills/1/advance"' in started.text
    fragment = browser.htmx("POST", "/backfills/1/advance")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "2 on their way" in fragment.text and "/backfills/1/stop" in fragment.text
    stopped = browser.post("/backfills/1/stop")
    assert "Stopped" in stopped.text and "/backfills/1/resume" in stopped.text
    resumed = browser.post("/backfills/1/resume")
    assert "/backfills/1/stop" in resumed.text


def test_only_administrators_backfill(sqlite_app: App, shared_data: Path) -> None:
    f = firm(sqlite_app, n_clients=1)
    pid, client = f.partner_id, f.clients[0]
    integ = add_integration(sqlite_app, pid, client.id, offline_sftp(sqlite_app, pid))
    web_user(sqlite_app, pid, "acc@firm.be", Role.ACCOUNTANT, assign={client.id: Access.EDIT})
    accountant = signed_in(sqlite_app, "acc@firm.be")
    assert accountant.get(f"/integrations/{integ}/backfill").status_code == 404
    before = snapshot(sqlite_app)
    day = f"{utcnow():%Y-%m-%d}"
    sent = accountant.post(f"/integrations/{integ}/backfill", {"since": day, "until": day})
    assert sent.status_code == 403
    assert snapshot(sqlite_app) == before
