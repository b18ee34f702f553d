"""The API's routers, one per resource family. The feed and webhook routers are added here."""

from __future__ import annotations

from fastapi import APIRouter

from passeur.api.routes import (
    catalogue,
    clients,
    documents,
    exports,
    installations,
    integrations,
    oauth,
    templates,
    users,
)

ROUTERS: list[APIRouter] = [
    oauth.router,
    catalogue.router,
    installations.router,
    clients.router,
    integrations.router,
    documents.router,
    exports.router,
    templates.router,
    users.router,
]
