"""Fixtures of the API tests: two firms with one of everything, and an API client of the
first with a personal access token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import Access, Role
from passeur.services import (
    api_clients,
    backfill,
    documents,
    exports,
    installations,
    integrations,
    partners,
    webhook_subscriptions,
)
from passeur.services import templates as template_service
from passeur.web.app import create
from tests.factories import SAMPLE_INVOICE, firm, upload_invoice

MARKER = "SeCrEt-MaRkEr-7f3a"  # set as every secret: no response may ever hold it
HTTP_VALUES = {
    "base_url": "https://127.0.0.1:9/hook",
    "auth": "bearer",
    "token": MARKER,
    "signing_secret": "whsec_" + "A" * 32,
    "password": MARKER,
}


@dataclass
class Tenant:
    """One firm's rows, by name (the ids an API caller could name)."""

    partner_id: int
    ids: dict[str, int] = field(default_factory=dict)


def tenant(app: App, shared_data: Path, name: str) -> Tenant:
    f = firm(app, n_clients=2, name=name)
    pid = f.partner_id
    client = f.clients[0].id
    inst = installations.install(app, pid, "http", "ERP", HTTP_VALUES).id
    integ = integrations.add(app, pid, client, inst, {}).id
    doc = upload_invoice(
        app, pid, client, shared_data / SAMPLE_INVOICE, DocumentKind.PURCHASE_INVOICE
    )
    documents.approve(app, pid, doc.id)
    pending = upload_invoice(
        app,
        pid,
        f.clients[1].id,
        shared_data / SAMPLE_INVOICE,
        DocumentKind.PURCHASE_INVOICE,
    )
    user = partners.add_user(app, pid, f"acc@{name.lower()}.be", "Acc", {Role.ACCOUNTANT})
    partners.assign(app, pid, user.id, client, Access.EDIT)
    template = template_service.create(app, pid, f"Standard {name}")
    export_id = exports.list_exports(app, pid)[0]["export"].id
    run = backfill.start(app, pid, integ, "2020-01-01", "2020-01-02")
    # The API extension's feed, with the approved document on it; a webhook subscription.
    feed_inst = installations.install(app, pid, "api", "Feed", {}).id
    feed = integrations.add(app, pid, client, feed_inst, {}).id
    (item,) = documents.resend(app, pid, doc.id, [feed])
    hook, _ = webhook_subscriptions.add(app, pid, "https://127.0.0.1:9/events")
    return Tenant(
        pid,
        {
            "client": client,
            "other_client": f.clients[1].id,
            "installation": inst,
            "integration": integ,
            "document": doc.id,
            "pending_document": pending.id,
            "user": user.id,
            "template": template.id,
            "export": export_id,
            "backfill": run.id,
            "feed_integration": feed,
            "feed_item": item,
            "subscription": hook.id,
        },
    )


@dataclass
class World:
    app: App
    ours: Tenant
    theirs: Tenant
    api_client_id: int
    token: str
    http: TestClient

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token or self.token}", **extra}

    def token_with(self, scopes: str) -> str:
        return api_clients.create_personal_token(
            self.app, self.ours.partner_id, self.api_client_id, "narrow", scopes=scopes
        ).token


@pytest.fixture
def world(sqlite_app: App, shared_data: Path) -> Iterator[World]:
    app = sqlite_app
    ours = tenant(app, shared_data, "Ours")
    theirs = tenant(app, shared_data, "Theirs")
    made, _secret = api_clients.create(app, ours.partner_id, "ERP sync", "all")
    token = api_clients.create_personal_token(app, ours.partner_id, made.id, "tests").token
    with TestClient(create(app), base_url="http://testserver") as http:
        yield World(app, ours, theirs, made.id, token, http)
