"""The feed and webhook subscriptions through the API: what a partner's software sees,
bad input refused with nothing changed, and two consumers (two web processes) pulling at
once on PostgreSQL, each item delivered once."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import Counter
from pathlib import Path

import httpx2
from sqlalchemy import func, select, update

from passeur.bootstrap import build
from passeur.domain.clock import utcnow
from passeur.domain.documents import DocumentKind
from passeur.services import api_clients, documents, installations, integrations
from passeur.storage.db import reading, transaction
from passeur.storage.tables import exports, webhook_subscriptions
from passeur.web.app import create
from tests.api.conftest import World
from tests.api.test_authorisation import snapshot
from tests.browser.harness import serve
from tests.conftest import make_settings
from tests.factories import SAMPLE_INVOICE, approve_invoices, firm, upload_invoice
from tests.integration.test_feeds import states


def test_a_feed_item_is_pulled_downloaded_and_acknowledged_once(
    world: World, shared_data: Path
) -> None:
    feed = world.ours.ids["feed_integration"]
    base = f"/api/v1/feeds/{feed}/items"
    page = world.http.get(base, headers=world.headers()).json()
    (item,) = page["items"]
    assert page["next_cursor"] is None and page["lease_seconds"] == 600
    assert item["document"]["id"] == world.ours.ids["document"]
    assert item["document"]["metadata"]["number"] == "Snippet1"
    assert item["export"]["fetch"] == 1 and item["export"]["leased_until"].endswith("Z")
    (original,) = [f for f in item["files"] if f["role"] == "original"]
    got = world.http.get(original["href"], headers=world.headers())
    assert got.content == (shared_data / SAMPLE_INVOICE).read_bytes()
    assert hashlib.sha256(got.content).hexdigest() == original["sha256"]
    assert original["name"] in got.headers["content-disposition"]
    assert world.http.get(base, headers=world.headers()).json()["items"] == [], "leased"

    done = world.http.post(f"{base}/{item['id']}/ack", headers=world.headers())
    assert done.json() == {"id": item["id"], "state": "delivered", "already": False}
    again = world.http.post(f"{base}/{item['id']}/ack", headers=world.headers())
    assert again.status_code == 200 and again.json()["already"] is True
    ledger = world.http.get(f"/api/v1/exports/{item['id']}", headers=world.headers()).json()
    assert ledger["state"] == "delivered"


def test_a_page_can_carry_its_small_files_inline(world: World, shared_data: Path) -> None:
    feed = world.ours.ids["feed_integration"]
    sample = (shared_data / SAMPLE_INVOICE).read_bytes()
    page = world.http.get(
        f"/api/v1/feeds/{feed}/items",
        params={"inline_max_bytes": len(sample)},
        headers=world.headers(),
    ).json()
    (item,) = page["items"]
    (original,) = [f for f in item["files"] if f["role"] == "original"]
    assert base64.b64decode(original["content_base64"]) == sample
    # Smaller than the file: the link only (the item, still leased, is pulled again later).
    with transaction(world.app.engine) as conn:
        conn.execute(update(exports).where(exports.c.id == item["id"]).values(due_at=utcnow()))
    again = world.http.get(
        f"/api/v1/feeds/{feed}/items",
        params={"inline_max_bytes": len(sample) - 1},
        headers=world.headers(),
    ).json()
    (item,) = again["items"]
    assert item["export"]["fetch"] == 2
    assert all(f["content_base64"] is None for f in item["files"])
    too_much = world.http.get(
        f"/api/v1/feeds/{feed}/items",
        params={"inline_max_bytes": 2 * 1024 * 1024},
        headers=world.headers(),
    )
    assert too_much.status_code == 422


def test_bad_feed_requests_are_problems_and_change_nothing(world: World) -> None:
    feed = world.ours.ids["feed_integration"]
    item = world.ours.ids["feed_item"]
    before = snapshot(world)
    cases = {
        # Not fetched yet: nothing to acknowledge.
        f"POST /api/v1/feeds/{feed}/items/{item}/ack": (409, "conflict"),
        # An HTTP integration pushes; it has no feed.
        f"GET /api/v1/feeds/{world.ours.ids['integration']}/items": (409, "conflict"),
        f"GET /api/v1/feeds/{feed}/items?cursor=nonsense": (400, "invalid-input"),
        f"GET /api/v1/feeds/{feed}/items?limit=0": (422, "validation-error"),
        f"GET /api/v1/feeds/{feed}/items/{item}/files/nothing": (404, "not-found"),
        f"GET /api/v1/feeds/{feed}/items/{item}/files/NO..": (422, "validation-error"),
        f"POST /api/v1/feeds/{feed}/items/{world.theirs.ids['feed_item']}/ack": (404, "not-found"),
    }
    for request, (status, slug) in cases.items():
        method, url = request.split(" ")
        answer = world.http.request(method, url, headers=world.headers())
        assert answer.status_code == status, (request, answer.text)
        assert answer.json()["type"] == f"/api/v1/problems/{slug}", request
    assert snapshot(world) == before


def test_a_subscription_secret_is_shown_once_and_bad_ones_change_nothing(world: World) -> None:
    url = "/api/v1/webhooks"
    made = world.http.post(
        url, headers=world.headers(), json={"url": "https://erp.example.be/hooks"}
    )
    assert made.status_code == 201, made.text
    secret = made.json()["signing_secret"]
    assert secret.startswith("whsec_")
    listed = world.http.get(url, headers=world.headers())
    one = world.http.get(f"{url}/{made.json()['id']}", headers=world.headers())
    assert secret not in listed.text and secret not in one.text
    assert made.json()["id"] in [s["id"] for s in listed.json()["items"]]

    before = snapshot(world)
    refused = {
        "http://erp.example.be/hooks": (400, "invalid-input"),  # not encrypted
        "not a url": (400, "invalid-input"),
    }
    for bad, (status, slug) in refused.items():
        answer = world.http.post(url, headers=world.headers(), json={"url": bad})
        assert answer.status_code == status and answer.json()["type"].endswith(slug), bad
    bodies = [
        ({"url": "https://x.example.be", "event_types": ["export.lost"]}, 422),
        ({"url": "https://x.example.be", "client_ids": [world.theirs.ids["client"]]}, 404),
        ({"url": "https://x.example.be", "secret": "whsec_not-base64!"}, 400),
        ({"url": "https://x.example.be", "max_concurrent": 9}, 422),
        ({"url": "https://x.example.be", "colour": "red"}, 422),
    ]
    for body, status in bodies:
        answer = world.http.post(url, headers=world.headers(), json=body)
        assert answer.status_code == status, (body, answer.text)
    assert snapshot(world) == before
    with reading(world.app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(webhook_subscriptions)).scalar() == 3


def test_two_consumers_through_two_web_processes_each_item_once(
    postgres_url: str, tmp_path: Path, shared_data: Path
) -> None:
    """Each consumer pulls from its own web process (its own engine) at the same moments,
    downloads every file and acknowledges; every item ends delivered exactly once."""
    settings = make_settings(tmp_path / "data", postgres_url)  # one machine: one blob folder
    apps = [build(settings), build(settings)]
    app = apps[0]
    try:
        f = firm(app, n_clients=1)
        inst = installations.install(app, f.partner_id, "api", "ERP", {})
        feed = integrations.add(app, f.partner_id, f.clients[0].id, inst.id, {}).id
        made, _ = api_clients.create(app, f.partner_id, "ERP", "feeds:read feeds:write")
        token = api_clients.create_personal_token(app, f.partner_id, made.id, "t").token
        approve_invoices(app, f, shared_data, 12)
        original = (shared_data / SAMPLE_INVOICE).read_bytes()
        acked: list[int] = []
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def consume(base: str) -> None:
            auth = {"authorization": f"Bearer {token}"}
            try:
                with httpx2.Client(base_url=base + "/api/v1", headers=auth, timeout=30) as api:
                    for _ in range(5):  # 2 x 3 x 2 rounds take all 12; later rounds find none
                        start.wait()
                        page = api.get(f"/feeds/{feed}/items", params={"limit": 3}).json()
                        for item in page["items"]:
                            href = item["files"][0]["href"].removeprefix("/api/v1")
                            assert api.get(href).content == original
                            answer = api.post(f"/feeds/{feed}/items/{item['id']}/ack")
                            assert answer.json()["already"] is False
                            acked.append(item["id"])
            except BaseException as exc:  # seen by the test, not lost in the thread
                start.abort()
                failures.append(exc)

        with serve(create(apps[0])) as one, serve(create(apps[1])) as two:
            threads = [threading.Thread(target=consume, args=(b,)) for b in (one, two)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert not failures, failures
        assert len(acked) == 12 and max(Counter(acked).values()) == 1
        assert states(app, feed) == ["delivered"] * 12
        with reading(app.engine) as conn:
            delivered = select(func.count()).where(exports.c.integration_id == feed)
            assert conn.execute(delivered).scalar() == 12
    finally:
        for a in apps:
            a.close()


def test_a_page_is_acknowledged_at_once_all_or_none(world: World, shared_data: Path) -> None:
    pid, feed = world.ours.partner_id, world.ours.ids["feed_integration"]
    more = upload_invoice(
        world.app, pid, world.ours.ids["client"], shared_data / SAMPLE_INVOICE,
        DocumentKind.PURCHASE_INVOICE,
    )  # fmt: skip
    documents.approve(world.app, pid, more.id)
    page = world.http.get(f"/api/v1/feeds/{feed}/items", headers=world.headers()).json()
    ids = [i["id"] for i in page["items"]]
    assert len(ids) == 2
    url = f"/api/v1/feeds/{feed}/acks"
    before = snapshot(world)
    refusals = [
        ({"ids": [ids[0], world.theirs.ids["feed_item"]]}, 404),  # one not on this feed
        ({"ids": [ids[0], ids[0]]}, 400),
        ({"ids": []}, 422),
    ]
    for body, status in refusals:
        answer = world.http.post(url, headers=world.headers(), json=body)
        assert answer.status_code == status, (body, answer.text)
    assert snapshot(world) == before, "a refused batch acknowledges none of its items"
    done = world.http.post(url, headers=world.headers(), json={"ids": ids}).json()
    assert [(d["id"], d["state"], d["already"]) for d in done["items"]] == [
        (i, "delivered", False) for i in ids
    ]
    again = world.http.post(url, headers=world.headers(), json={"ids": ids}).json()
    assert all(d["already"] for d in again["items"])
    assert states(world.app, feed) == ["delivered", "delivered"]
