"""A partner's software end to end through the API: a token, a client, an installation and
an integration, a document uploaded and approved, its export in the ledger."""

from __future__ import annotations

from pathlib import Path

from passeur.services import api_clients
from tests.api.conftest import World
from tests.factories import SAMPLE_INVOICE


def test_a_partners_software_goes_from_token_to_export(world: World, shared_data: Path) -> None:
    made, secret = api_clients.create(world.app, world.ours.partner_id, "ERP", "all")
    token = world.http.post(
        "/api/v1/oauth/token",
        auth=(made.client_key, secret),
        data={"grant_type": "client_credentials", "scope": "clients:write clients:read"},
    )
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    assert token.json()["scope"] == "clients:read clients:write"
    narrow = token.json()["access_token"]
    assert world.http.get("/api/v1/exports", headers=world.headers(narrow)).status_code == 403
    h = world.headers()
    client = world.http.post(
        "/api/v1/clients", headers=h, json={"name": "Bakkerij", "status": "active"}
    ).json()
    inst = world.http.post(
        "/api/v1/installations",
        headers=h,
        json={
            "extension": "http",
            "name": "ERP",
            "values": {
                "base_url": "https://127.0.0.1:9/erp",
                "signing_secret": "whsec_" + "C" * 32,
            },
        },
    ).json()
    assert (
        inst["secrets"]["signing_secret"] == {"set": True}
        and "signing_secret" not in inst["values"]
    )
    preview = world.http.post(
        "/api/v1/integrations/path-preview",
        headers=h,
        json={"client_id": client["id"], "installation_id": inst["id"], "values": {}},
    )
    assert preview.status_code == 200, preview.text
    integ = world.http.post(
        "/api/v1/integrations",
        headers=h,
        json={"client_id": client["id"], "installation_id": inst["id"]},
    ).json()
    assert integ["status"] == "active"
    sample = (shared_data / SAMPLE_INVOICE).read_bytes()
    doc = world.http.post(
        f"/api/v1/clients/{client['id']}/documents",
        headers=h,
        files={"file": ("invoice.xml", sample, "application/xml")},
        data={"kind": "purchase_invoice"},
    )
    assert doc.status_code == 201, doc.text
    doc_id = doc.json()["id"]
    again = world.http.post(
        f"/api/v1/clients/{client['id']}/documents",
        headers=h,
        files={"file": ("invoice.xml", sample, "application/xml")},
        data={"kind": "purchase_invoice"},
    )
    assert again.status_code == 409 and again.json()["type"] == "/api/v1/problems/duplicate"
    folder = world.http.get(
        f"/api/v1/clients/{client['id']}/documents",
        headers=h,
        params={"folder": "purchase_invoices", "status": "client_action_needed"},
    ).json()
    assert [d["id"] for d in folder["items"]] == [doc_id]
    approved = world.http.post(f"/api/v1/documents/{doc_id}/approve", headers=h)
    assert approved.status_code == 200 and approved.json()["lifecycle"] == "approved"
    ledger = world.http.get(
        "/api/v1/exports", headers=h, params={"client_id": client["id"], "state": "pending"}
    ).json()
    (export,) = ledger["items"]
    assert export["document_id"] == doc_id and export["integration_id"] == integ["id"]
    detail = world.http.get(f"/api/v1/exports/{export['id']}", headers=h).json()
    assert detail["tries"] == []
    retry = world.http.post(f"/api/v1/exports/{export['id']}/retry", headers=h)
    assert retry.status_code == 409 and retry.json()["type"] == "/api/v1/problems/conflict"
    count = world.http.get(
        "/api/v1/exports/retry-preview", headers=h, params={"client_id": client["id"]}
    )
    assert count.json() == {"count": 0}
    original = world.http.get(f"/api/v1/documents/{doc_id}/original", headers=h)
    assert original.content == sample and "attachment" in original.headers["content-disposition"]


def test_lists_page_with_cursors_and_show_only_the_callers_partner(world: World) -> None:
    h = world.headers()
    for i in range(3):
        world.http.post("/api/v1/clients", headers=h, json={"name": f"Paged {i}"})
    seen, cursor = [], ""
    while True:
        page = world.http.get(
            "/api/v1/clients", headers=h, params={"limit": 2, "cursor": cursor}
        ).json()
        seen += [c["id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    assert world.theirs.ids["client"] not in seen
    bad = world.http.get("/api/v1/clients", headers=h, params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


def test_bad_input_gets_a_problem_and_never_a_server_error(world: World) -> None:
    h = world.headers()
    cases = [
        (
            "post",
            "/api/v1/clients",
            {"content": b"{not json", "headers": {**h, "content-type": "application/json"}},
            400,
            "malformed-body",
        ),
        (
            "post",
            "/api/v1/clients",
            {"json": {"name": "A", "unknown": 1}, "headers": h},
            422,
            "validation-error",
        ),
        ("post", "/api/v1/clients", {"json": {"name": 5}, "headers": h}, 422, "validation-error"),
        ("get", "/api/v1/clients/abc", {"headers": h}, 422, "validation-error"),
        ("delete", "/api/v1/clients", {"headers": h}, 405, "method-not-allowed"),
        ("get", "/api/v1/nothing", {"headers": h}, 404, "not-found"),
        (
            "post",
            "/api/v1/clients",
            {"content": b"x" * 100, "headers": {**h, "content-length": str(10**9)}},
            413,
            "payload-too-large",
        ),
    ]
    for method, url, kwargs, status, slug in cases:
        answer = world.http.request(method, url, **kwargs)
        assert answer.status_code == status, (url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", url
        assert answer.json()["type"] == f"/api/v1/problems/{slug}"
    assert world.http.delete("/api/v1/clients", headers=h).headers["allow"] == "GET, POST"
