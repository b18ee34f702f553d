"""What an accountant does in the UI, through the API: imports previewed then confirmed,
a bulk upload (all or none), a review, a template applied to an existing client, and an
OAuth sign-in begun by the API and completed by the named person's browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from passeur.domain.partners import Role
from passeur.formats.corpus import make_padded_pdf
from passeur.sandbox.oauth_server import OAuthServer, ThreadedOAuthServer
from passeur.services import installations, integrations
from passeur.services import templates as template_service
from tests.api.conftest import World
from tests.api.requests import CLIENTS_CSV
from tests.api.test_authorisation import snapshot
from tests.oauth_provider import FAKE, approve_at, register, use_provider
from tests.web.browsing import signed_in, web_user


def _file(
    name: str, data: bytes, media_type: str = "text/csv"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, media_type)}


def test_a_client_import_is_previewed_then_confirmed(world: World) -> None:
    csv = CLIENTS_CSV + b"Second BV,BE,x@second.be,Bo,Maes,xx,IMP2\n"  # a refused row
    before = snapshot(world)
    seen = world.http.post(
        "/api/v1/clients/import-preview", files=_file("c.csv", csv), headers=world.headers()
    ).json()
    assert seen["saved"] is False and seen["counts"] == {"add": 1, "refused": 1}
    assert seen["rows"][1]["field"] == "contact_locale"
    assert snapshot(world) == before, "a preview saves nothing"

    done = world.http.post(
        "/api/v1/clients/import", files=_file("c.csv", csv), headers=world.headers()
    ).json()
    assert done["saved"] is True and done["added"] == 1
    names = [
        c["name"]
        for c in world.http.get("/api/v1/clients", headers=world.headers()).json()["items"]
    ]
    assert "Imported BV" in names and "Second BV" not in names
    again = world.http.post(
        "/api/v1/clients/import", files=_file("c.csv", csv), headers=world.headers()
    ).json()
    assert again["added"] == 0 and again["counts"]["already"] == 1

    bad = world.http.post(
        "/api/v1/clients/import", files=_file("c.csv", b"who,what\n1,2\n"), headers=world.headers()
    )
    assert bad.status_code == 400 and "unknown column" in bad.json()["detail"]


def test_an_integration_import_adds_the_rows_that_would_add(world: World) -> None:
    inst = world.ours.ids["installation"]
    rows = b"client\nC001\nC000\nNOPE\n"  # C000 has it already; NOPE names no client
    before = snapshot(world)
    url = f"/api/v1/installations/{inst}/import"
    seen = world.http.post(f"{url}-preview", files=_file("r.csv", rows), headers=world.headers())
    assert seen.json()["counts"] == {"add": 1, "already": 1, "unknown_client": 1}
    assert snapshot(world) == before
    done = world.http.post(url, files=_file("r.csv", rows), headers=world.headers()).json()
    assert done["added"] == 1
    other = world.ours.ids["other_client"]
    found = integrations.list_integrations(world.app, world.ours.partner_id, other)
    assert [i.installation_id for i in found] == [inst]


def test_a_bulk_upload_stores_every_file_or_none(world: World, shared_data: Path) -> None:
    client = world.ours.ids["client"]
    url = f"/api/v1/clients/{client}/documents/bulk"
    pdfs = [
        ("files", (f"{n}.pdf", make_padded_pdf(3000, seed=50 + n), "application/pdf"))
        for n in range(3)
    ]
    before = snapshot(world)
    refused = world.http.post(
        url, files=[*pdfs, ("files", ("x.txt", b"not a document", "text/plain"))],
        data={"kind": "other"}, headers=world.headers(),
    )  # fmt: skip
    assert refused.status_code == 400 and "x.txt" in refused.json()["detail"]
    assert snapshot(world) == before, "one refused file: nothing stored"
    made = world.http.post(url, files=pdfs, data={"kind": "other"}, headers=world.headers())
    assert made.status_code == 201
    assert [d["filename"] for d in made.json()["items"]] == ["0.pdf", "1.pdf", "2.pdf"]


def test_a_document_awaiting_review_is_marked_reviewed_once(
    world: World, shared_data: Path
) -> None:
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    client = world.ours.ids["client"]
    uploaded = world.http.post(
        f"/api/v1/clients/{client}/documents/bulk",
        files=[("files", ("held.xml", broken, "application/xml"))],
        data={"kind": "purchase_invoice"},
        headers=world.headers(),
    )
    assert uploaded.status_code == 201, uploaded.text
    (doc,) = uploaded.json()["items"]
    assert "(BR-CO-16)" in doc["review_reason"] and doc["reviewed_at"] is None
    done = world.http.post(f"/api/v1/documents/{doc['id']}/reviewed", headers=world.headers())
    assert done.status_code == 200 and done.json()["reviewed_at"].endswith("Z")
    again = world.http.post(f"/api/v1/documents/{doc['id']}/reviewed", headers=world.headers())
    assert again.status_code == 409 and "already reviewed" in again.json()["detail"]


def test_a_template_is_previewed_then_applied_to_an_existing_client(world: World) -> None:
    app, pid = world.app, world.ours.partner_id
    template = template_service.create(app, pid, "With the ERP")
    inst = world.ours.ids["installation"]
    template_service.set_integration(app, pid, template.id, inst, {})
    client = world.ours.ids["other_client"]
    base = f"/api/v1/clients/{client}/templates/{template.id}"
    before = snapshot(world)
    plan = world.http.get(f"{base}/plan", headers=world.headers()).json()
    assert plan["applied"] is False and plan["adds"] == 1
    assert plan["integrations"][0]["verdict"] == "add"
    assert snapshot(world) == before
    done = world.http.post(f"{base}/apply", headers=world.headers()).json()
    assert done["applied"] is True
    found = integrations.list_integrations(app, pid, client)
    assert [i.installation_id for i in found] == [inst]
    # Applied again: the client has it, nothing to add.
    assert world.http.get(f"{base}/plan", headers=world.headers()).json()["adds"] == 0


@pytest.fixture
def provider(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    threaded = ThreadedOAuthServer(OAuthServer())
    started = threaded.start()
    register(monkeypatch, FAKE)
    use_provider(monkeypatch, started)
    world.app.settings.allowed_networks = "127.0.0.0/8"
    yield
    threaded.stop()


def test_an_oauth_sign_in_begun_by_the_api_is_completed_by_the_named_person(
    world: World, provider: None
) -> None:
    pid = world.ours.partner_id
    inst = installations.install(world.app, pid, FAKE.slug, "Books", {"company": "ACME"}).id
    boss = web_user(world.app, pid, "boss@ours.be", Role.ADMINISTRATOR)
    url = f"/api/v1/installations/{inst}/sign-in"
    # An accountant may not manage installations; another firm's user is not found.
    accountant = world.http.post(
        url, json={"user_id": world.ours.ids["user"]}, headers=world.headers()
    )
    assert accountant.status_code == 403
    theirs = world.http.post(
        url, json={"user_id": world.theirs.ids["user"]}, headers=world.headers()
    )
    assert theirs.status_code == 404

    begun = world.http.post(url, json={"user_id": boss}, headers=world.headers())
    assert begun.status_code == 200, begun.text
    address = begun.json()["authorize_url"]
    query = parse_qs(urlsplit(address).query)
    assert query["redirect_uri"] == ["http://testserver/oauth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    answer = approve_at(address)

    # Someone else's browser cannot complete it; the named person's does, once.
    web_user(world.app, pid, "other@ours.be", Role.ADMINISTRATOR)
    other = signed_in(world.app, "other@ours.be")
    stolen = other.get("/oauth/callback", params=answer)
    assert stolen.status_code == 400 and "someone else" in stolen.text
    browser = signed_in(world.app, "boss@ours.be")
    back = browser.get("/oauth/callback", params=answer)
    assert back.status_code == 200 and str(back.url).endswith(f"/installations/{inst}?signed_in=1")
    assert {"access_token", "refresh_token"} <= installations.get(
        world.app, pid, inst
    ).secret_fields


def test_an_import_sent_twice_with_one_idempotency_key_adds_once(world: World) -> None:
    headers = world.headers(**{"idempotency-key": "import-1"})
    url = "/api/v1/clients/import"
    first = world.http.post(url, files=_file("c.csv", CLIENTS_CSV), headers=headers)
    again = world.http.post(url, files=_file("c.csv", CLIENTS_CSV), headers=headers)
    assert first.json()["added"] == 1
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = world.http.post(url, files=_file("d.csv", CLIENTS_CSV + b"\n"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/api/v1/problems/idempotency-key-reused"
    listed = world.http.get("/api/v1/clients", headers=world.headers()).json()["items"]
    assert [c["name"] for c in listed].count("Imported BV") == 1
