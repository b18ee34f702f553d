"""One router per area of the partner space; app.py includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from passeur.web import ids  # noqa: F401  (registers {name:id} before any route)
from passeur.web.routes import (
    api_clients,
    audit,
    auth,
    backfills,
    business,
    client_documents,
    client_import,
    clients,
    exports,
    home,
    installations,
    integration_import,
    integrations,
    notifications,
    oauth,
    store,
    team,
    templates,
    users,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    home.router,
    client_import.router,
    clients.router,
    templates.router,
    client_documents.router,
    team.router,
    exports.router,
    users.router,
    api_clients.router,
    webhooks.router,
    business.router,
    store.router,
    installations.router,
    integration_import.router,
    oauth.router,
    integrations.router,
    backfills.router,
    audit.router,
    notifications.router,
]
