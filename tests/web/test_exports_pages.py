"""The exports ledger, an export's page and retrying, as each role browses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.domain.exports import ExportState
from passeur.domain.partners import Access, Role
from passeur.services import clients, exports
from passeur.storage.repositories.exports import ExportFilter
from tests.web.browsing import signed_in, web_user
from tests.web.practice import Practice, add_attempt, practice, release, set_export, snapshot

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def p(sqlite_app: App, shared_data: Path) -> Practice:
    made = practice(sqlite_app, shared_data, n_clients=2)
    web_user(sqlite_app, made.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    web_user(
        sqlite_app,
        made.partner_id,
        "ada@firm.be",
        Role.ACCOUNTANT,
        assign={made.clients[0]: Access.EDIT},
    )
    web_user(
        sqlite_app,
        made.partner_id,
        "vic@firm.be",
        Role.ACCOUNTANT,
        assign={made.clients[0]: Access.VIEW},
    )
    web_user(sqlite_app, made.partner_id, "cm@firm.be", Role.CLIENT_MANAGER)
    return made


def state_of(app: App, p: Practice, export_id: int) -> ExportState:
    [row] = [r for r in exports.list_exports(app, p.partner_id) if r["export"].id == export_id]
    return ExportState(row["export"].state)


def test_the_ledger_lists_and_filters_exports(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[1], state="failed", last_error_class="rejected")
    browser = signed_in(sqlite_app, "admin@firm.be")

    page = browser.get("/exports")
    assert page.status_code == 200
    assert page.text.count('href="/exports/') >= 2
    assert "Client 0" in page.text and "Client 1" in page.text
    failed = browser.get("/exports?state=failed").text
    assert f'href="/exports/{p.exports[1]}"' in failed
    assert f'href="/exports/{p.exports[0]}"' not in failed
    assert "Rejected by the target" in failed
    by_client = browser.get(f"/exports?client={p.clients[0]}").text
    assert f'href="/exports/{p.exports[0]}"' in by_client
    assert f'href="/exports/{p.exports[1]}"' not in by_client
    assert f'<option value="{p.integrations[0]}"' in by_client, "the client's integrations"
    by_error = browser.get("/exports?error=auth").text
    assert "No export matches these filters." in by_error
    assert browser.get("/exports?state=nonsense").status_code == 400
    assert browser.get("/exports?from=yesterday").status_code == 400
    assert browser.get("/exports?cursor=not-a-cursor").status_code == 400


def test_the_ledger_pages_by_cursor_links(
    sqlite_app: App, p: Practice, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)
    for _ in range(3):
        release(sqlite_app, p.partner_id, p.clients[0], shared_data)
    everything = [r["export"].id for r in exports.list_exports(sqlite_app, p.partner_id)]
    browser = signed_in(sqlite_app, "admin@firm.be")

    seen: list[int] = []
    url = f"/exports?client={p.clients[0]}"
    mine = [
        r["export"].id
        for r in exports.list_exports(
            sqlite_app, p.partner_id, ExportFilter(client_id=p.clients[0])
        )
    ]
    while url:
        text = browser.get(url).text
        seen += [int(i) for i in re.findall(r'<td><a href="/exports/(\d+)">', text)]
        older = re.search(r'<a href="([^"]+)" rel="next">', text)
        url = older.group(1).replace("&amp;", "&") if older else ""
        if url:
            assert f"client={p.clients[0]}" in url and "cursor=" in url, "filters kept"
    assert seen == mine and len(mine) == 4 and len(everything) == 5


def test_an_export_page_shows_every_try_and_the_receipt(sqlite_app: App, p: Practice) -> None:
    set_export(
        sqlite_app,
        p.exports[0],
        state="delivered",
        attempts=2,
        receipt={"location": "/in/invoice.xml", "size": 1234, "sha256": "ab" * 32},
    )
    add_attempt(sqlite_app, p.exports[0], 1, error_class="transient", message=f"timeout {SCRIPT}")
    add_attempt(sqlite_app, p.exports[0], 2, outcome="delivered")
    browser = signed_in(sqlite_app, "ada@firm.be")

    page = browser.get(f"/exports/{p.exports[0]}")
    assert page.status_code == 200
    assert "/in/invoice.xml" in page.text and "Connection problem" in page.text
    assert SCRIPT not in page.text and "timeout &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Delivered" in page.text and "Client 0" in page.text and "SFTP" in page.text
    assert 'action="/exports/' not in page.text, "a delivered export is not retried"


def test_retry_one_export(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[0], state="failed", last_error=SCRIPT)
    browser = signed_in(sqlite_app, "ada@firm.be")
    page = browser.get(f"/exports/{p.exports[0]}")
    assert f'action="/exports/{p.exports[0]}/retry"' in page.text
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text

    done = browser.post(f"/exports/{p.exports[0]}/retry")
    assert done.status_code == 200 and "queued again" in done.text
    assert state_of(sqlite_app, p, p.exports[0]) is ExportState.PENDING
    again = browser.post(f"/exports/{p.exports[0]}/retry")
    assert again.status_code == 409, "a pending export is not retried"


def test_a_view_only_accountant_cannot_retry(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[0], state="failed")
    browser = signed_in(sqlite_app, "vic@firm.be")
    page = browser.get(f"/exports/{p.exports[0]}")
    assert page.status_code == 200 and "/retry" not in page.text
    before = snapshot(sqlite_app)
    refused = browser.post(f"/exports/{p.exports[0]}/retry")
    assert refused.status_code == 403
    assert snapshot(sqlite_app) == before
    preview = browser.get("/exports/retry?state=failed")
    assert "No export that you may retry matches these filters" in preview.text
    browser.post("/exports/retry", {"state": "failed", "confirm": "yes"})
    assert snapshot(sqlite_app) == before


def test_exports_one_may_not_see_are_not_found(
    sqlite_app: App, p: Practice, shared_data: Path
) -> None:
    other = practice(sqlite_app, shared_data, n_clients=1, name="Other firm")
    set_export(sqlite_app, other.exports[0], state="failed")
    set_export(sqlite_app, p.exports[1], state="failed")
    admin = signed_in(sqlite_app, "admin@firm.be")
    ada = signed_in(sqlite_app, "ada@firm.be")
    before = snapshot(sqlite_app)

    assert admin.get(f"/exports/{other.exports[0]}").status_code == 404
    assert admin.post(f"/exports/{other.exports[0]}/retry").status_code == 404
    assert ada.get(f"/exports/{p.exports[1]}").status_code == 404, "not assigned to client 1"
    assert ada.get(f"/exports?client={p.clients[1]}").status_code == 404
    assert f'href="/exports/{p.exports[1]}"' not in ada.get("/exports").text
    assert ada.post(f"/exports/{p.exports[1]}/retry").status_code == 403
    assert admin.get("/exports/999999").status_code == 404
    assert snapshot(sqlite_app) == before
    manager = signed_in(sqlite_app, "cm@firm.be")
    assert manager.get("/exports").status_code == 404
    assert manager.get(f"/exports/{p.exports[0]}").status_code == 404


def test_retry_many_shows_the_count_then_retries(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[0], state="failed")
    set_export(sqlite_app, p.exports[1], state="needs_attention")
    browser = signed_in(sqlite_app, "admin@firm.be")
    before = snapshot(sqlite_app)

    ledger = browser.get("/exports?state=failed").text
    assert 'href="/exports/retry?state=failed"' in ledger
    preview = browser.get("/exports/retry")
    assert "2 exports match these filters" in preview.text
    assert browser.get("/exports/retry?state=failed").text.count("1 export matches") == 1
    assert snapshot(sqlite_app) == before, "a preview changes nothing"
    assert browser.get("/exports/retry?state=delivered").status_code == 400

    done = browser.post("/exports/retry", {"state": "", "confirm": "yes"})
    assert done.status_code == 200 and "2 exports are queued again." in done.text
    assert {state_of(sqlite_app, p, e) for e in p.exports} == {ExportState.PENDING}
    unconfirmed = browser.post("/exports/retry", {"state": "failed"})
    assert unconfirmed.url.path == "/exports/retry", "without confirm: back to the preview"


def test_changes_without_the_csrf_token_are_refused(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[0], state="failed")
    browser = signed_in(sqlite_app, "admin@firm.be")
    before = snapshot(sqlite_app)
    for url, data in [
        (f"/exports/{p.exports[0]}/retry", {}),
        ("/exports/retry", {"confirm": "yes"}),
    ]:
        assert browser.client.post(url, data=data).status_code == 403
        forged = {"csrf_token": "forged", **data}
        assert browser.client.post(url, data=forged).status_code == 403
    assert snapshot(sqlite_app) == before


def test_file_names_and_errors_are_text(sqlite_app: App, p: Practice, shared_data: Path) -> None:
    odd = release(sqlite_app, p.partner_id, p.clients[0], shared_data, filename=f"{SCRIPT}.xml")
    set_export(sqlite_app, odd, state="failed", last_error=SCRIPT, last_error_class="auth")
    browser = signed_in(sqlite_app, "admin@firm.be")
    for url in ["/exports", f"/exports/{odd}", "/"]:
        page = browser.get(url)
        assert page.status_code == 200
        assert SCRIPT not in page.text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, url


def test_the_ledger_speaks_french(sqlite_app: App, p: Practice) -> None:
    set_export(sqlite_app, p.exports[0], state="failed")
    browser = signed_in(sqlite_app, "admin@firm.be")
    browser.post("/language", {"locale": "fr", "next": "/exports"})
    page = browser.get("/exports")
    assert "Tous les clients" in page.text and "Plus anciens" not in page.text
    assert browser.get(f"/exports/{p.exports[0]}").text.count("Réessayer") >= 1


def test_above_a_few_hundred_clients_the_client_filter_is_a_search(
    sqlite_app: App, p: Practice, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A firm with more clients than the list offers types a name: a single match filters
    by that client, several are offered as links, none is said; another firm's client,
    and a client out of the accountant's reach, are never found."""
    from passeur.web.routes import exports as ledger_route

    monkeypatch.setattr(ledger_route, "CLIENT_CHOICES", 0)
    other = practice(sqlite_app, shared_data, n_clients=1, name="Other firm")
    clients.update_client(sqlite_app, other.partner_id, other.clients[0], name="Client 0 bis")
    browser = signed_in(sqlite_app, "admin@firm.be")

    page = browser.get("/exports?state=failed")
    assert 'name="client_name"' in page.text and '<select id="f-client"' not in page.text
    one = browser.get("/exports?state=failed&client_name=client 1", follow_redirects=False)
    assert one.status_code == 303
    assert one.headers["location"] == f"/exports?client={p.clients[1]}&state=failed"
    chosen = browser.get(one.headers["location"]).text
    assert 'value="Client 1"' in chosen, "the chosen client's name stays in the field"
    assert f'href="/exports/{p.exports[1]}"' not in chosen.replace("state=failed", "")

    several = browser.get("/exports?client_name=client")
    assert several.status_code == 200
    assert f'href="/exports?client={p.clients[0]}"' in several.text
    assert f'href="/exports?client={p.clients[1]}"' in several.text
    assert "Client 0 bis" not in several.text, "another firm's client is never offered"
    assert "No client matches" in browser.get("/exports?client_name=nobody").text

    ada = signed_in(sqlite_app, "ada@firm.be")  # assigned to the first client only
    assert "No client matches" in ada.get("/exports?client_name=client 1").text
