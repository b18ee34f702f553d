"""Tenants are walled, for every service function that takes a partner id, found by looking
at the services, not listed by hand: a new function is covered without a new test.

Two firms each have a client, an installation, an integration, an approved document (with
its export) and a user. Called as the first firm:

- with the other firm's ids, every such function is refused (not found, or forbidden) and
  changes nothing;
- every such function that takes no id of a firm's thing returns nothing of the other
  firm's (its names carry a marker that must not appear in what comes back).

Arguments are made from their names; a function whose parameters cannot be made so fails
here until `ARGUMENTS` says how.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

import passeur.services
from passeur.bootstrap import App, build
from passeur.connectors import oauth
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind, Folder, Lifecycle
from passeur.domain.errors import DomainError, Forbidden, NotFound
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.domain.templates import ConfigurationTemplate
from passeur.formats.corpus import make_padded_pdf
from passeur.services import (
    api_clients,
    backfill,
    clients,
    documents,
    installations,
    intake,
    integrations,
    partners,
    templates,
    webhook_subscriptions,
)
from passeur.services.exports import ExportFilter
from passeur.storage import schema
from passeur.storage.db import reading
from passeur.storage.tables import exports
from tests.conftest import make_settings
from tests.integration.test_access import snapshot

MARKER = "tenant-b-secret"
IDS = {
    "client_id": "client",
    "document_id": "document",
    "integration_id": "integration",
    "installation_id": "installation",
    "user_id": "user",
    "export_id": "export",
    "item_id": "export",  # a feed's item is an export
    "template_id": "template",
    "backfill_id": "backfill",
    "api_client_id": "api_client",
    "token_id": "token",
    "subscription_id": "subscription",
}
LISTS = {
    "document_ids": "document",
    "integration_ids": "integration",
    "client_ids": "client",
}
PDF = make_padded_pdf(2048, seed=3)
# Arguments made from their names, whatever the function.
ARGUMENTS: dict[str, Any] = {
    "name": "A name",
    "email": "someone.new@example.com",
    "roles": {Role.ACCOUNTANT},
    "password": "a long enough passphrase 42",
    "values": {},
    "slug": "http",
    "filename": "invoice.pdf",
    "data": PDF,
    "files": [("invoice.pdf", PDF)],
    "kind": DocumentKind.PURCHASE_INVOICE,
    "status": ClientStatus.ARCHIVED,
    "active": False,
    "event": Lifecycle.APPROVED,
    "folder": Folder.PURCHASE_INVOICES,
    "access": Access.EDIT,
    "text": "",
    "group": "",
    "confirm": True,
    "redirect_uri": "https://passeur.example/oauth/callback",
    "state": "a-state",
    "code": "a-code",
    "grant": oauth.Grant("access", 4_000_000_000.0, "refresh"),
    "role": "original",
    "since": "2026-01-01",
    "until": "2026-12-31",
    "f": ExportFilter(),
    "scopes": "clients:read",
    "template": ConfigurationTemplate(0, 0, "A template", "", False),  # vetted before saving
    "url": "https://hooks.example/events",
    "mode": "daily",
    "stale_days": 5,
}
# Where a function needs other values to reach the point where it looks the ids up.
OVERRIDES: dict[str, dict[str, Any]] = {
    "partners.add_user": {"roles": {Role.BUSINESS}},  # only business users have a client
}
INTERNAL = {"conn"}  # functions that take the caller's transaction are not entry points


@dataclass(frozen=True)
class Firm:
    partner: int
    client: int
    installation: int
    integration: int
    document: int
    export: int
    user: int
    template: int
    backfill: int
    api_client: int
    token: str
    subscription: int


def firm(app: App, label: str) -> Firm:
    partner = partners.create_partner(app, f"Firm {label}")
    client = clients.create_client(
        app, partner.id, f"Client {label}", uen_number="0403170701", status=ClientStatus.ACTIVE
    )
    values = {"base_url": f"https://{label}.example", "signing_secret": new_secret()}
    installation = installations.install(app, partner.id, "http", f"Endpoint {label}", values)
    integration = integrations.add(app, partner.id, client.id, installation.id, {})
    doc = intake.upload(
        app, partner.id, client.id, f"{label}.pdf", PDF, kind=DocumentKind.PURCHASE_INVOICE
    )
    documents.approve(app, partner.id, doc.id)
    user = partners.add_user(
        app, partner.id, f"{label.replace(' ', '.')}@example.com", f"User {label}",
        {Role.ACCOUNTANT},
    )  # fmt: skip
    with reading(app.engine) as conn:
        export = conn.execute(
            select(exports.c.id).where(exports.c.document_id == doc.id)
        ).scalar_one()
    template = templates.create(app, partner.id, f"Template {label}")
    run = backfill.start(app, partner.id, integration.id, "2026-01-01", "2026-12-31")
    hook, _ = webhook_subscriptions.add(app, partner.id, f"https://{label}.example/hooks")
    made, _secret = api_clients.create(app, partner.id, f"App {label}", "clients:read")
    token = api_clients.create_personal_token(app, partner.id, made.id, f"Script {label}")
    return Firm(
        partner.id, client.id, installation.id, integration.id, doc.id, export, user.id,
        template.id, run.id, made.id, token.info.id, hook.id,
    )  # fmt: skip


def walled_functions() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for module in pkgutil.iter_modules(passeur.services.__path__):
        loaded = importlib.import_module(f"passeur.services.{module.name}")
        for name, function in inspect.getmembers(loaded, inspect.isfunction):
            if function.__module__ != loaded.__name__ or name.startswith("_"):
                continue
            parameters = inspect.signature(function).parameters
            if "partner_id" in parameters and not INTERNAL & set(parameters):
                found.append((f"{module.name}.{name}", function))
    return found


FUNCTIONS = walled_functions()


def takes_ids(function: Callable[..., Any]) -> bool:
    return bool((set(IDS) | set(LISTS)) & set(inspect.signature(function).parameters))


def arguments(
    name: str, function: Callable[..., Any], app: App, me: Firm, ids_of: Firm
) -> dict[str, Any]:
    """Keyword arguments for `function`, called as `me` with the ids of `ids_of`'s things."""
    made: dict[str, Any] = dict(OVERRIDES.get(name, {}))
    for key, parameter in inspect.signature(function).parameters.items():
        if key in made:
            continue
        if key == "app":
            made[key] = app
        elif key == "partner_id":
            made[key] = me.partner
        elif key in IDS:
            made[key] = getattr(ids_of, IDS[key])
        elif key in LISTS:
            made[key] = [getattr(ids_of, LISTS[key])]
        elif parameter.default is not inspect.Parameter.empty:
            continue  # the function's own default
        elif key in ARGUMENTS:
            made[key] = ARGUMENTS[key]
        else:
            raise AssertionError(f"say in ARGUMENTS how to make {key!r}")
    return made


def call(name: str, function: Callable[..., Any], app: App, me: Firm, ids_of: Firm) -> Any:
    """The function's answer (awaited, for the coroutines among them)."""
    result = function(**arguments(name, function, app, me, ids_of))
    return asyncio.run(result) if inspect.iscoroutine(result) else result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Firm, Firm]]:
    """One SQLite database for the module: a refusal changes nothing, so each test finds
    it as the last one left it."""
    folder = tmp_path_factory.mktemp("wall")
    app = build(make_settings(folder / "data", f"sqlite:///{folder / 'passeur.db'}"))
    schema.upgrade(app.engine)
    yield app, firm(app, "A"), firm(app, MARKER)
    app.close()


def test_every_walled_function_is_found() -> None:
    """The generator sees the services (a rename or a move would empty it silently)."""
    names = {name for name, _ in FUNCTIONS}
    assert {"documents.get", "exports.retry", "integrations.add", "intake.upload"} <= names
    assert len(FUNCTIONS) >= 60


WITH_IDS = [f for f in FUNCTIONS if takes_ids(f[1])]
WITHOUT_IDS = [f for f in FUNCTIONS if not takes_ids(f[1])]


@pytest.mark.parametrize(("name", "function"), WITH_IDS, ids=[n for n, _ in WITH_IDS])
def test_the_other_firms_things_are_out_of_reach(
    world: tuple[App, Firm, Firm], name: str, function: Callable[..., Any]
) -> None:
    app, mine, theirs = world
    before = snapshot(app)
    with pytest.raises((NotFound, Forbidden)):
        result = call(name, function, app, mine, theirs)
        pytest.fail(f"{name} answered with the other firm's ids: {result!r}"[:500])
    assert snapshot(app) == before, f"{name} changed something for the other firm's ids"


@pytest.mark.parametrize(("name", "function"), WITHOUT_IDS, ids=[n for n, _ in WITHOUT_IDS])
def test_what_a_firm_lists_holds_nothing_of_another(
    world: tuple[App, Firm, Firm], name: str, function: Callable[..., Any]
) -> None:
    app, mine, _ = world
    try:
        result = call(name, function, app, mine, mine)
    except DomainError as refused:  # e.g. made-up values refused: nothing to see either
        assert MARKER not in str(refused)
        return
    assert MARKER not in repr(result), f"{name} returned the other firm's data"


def test_the_marker_would_be_seen(world: tuple[App, Firm, Firm]) -> None:
    """The check above can fail: the other firm's own listing shows its marker."""
    app, _, theirs = world
    assert MARKER in repr(clients.list_clients(app, theirs.partner))
    assert MARKER in repr(documents.list_documents(app, theirs.partner))
