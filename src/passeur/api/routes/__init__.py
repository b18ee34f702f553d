"""The API's routers, one per resource family."""

from __future__ import annotations

from fastapi import APIRouter

from passeur.api.routes import (
    catalogue,
    clients,
    documents,
    exports,
    feeds,
    imports,
    installations,
    integrations,
    oauth,
    signin,
    templates,
    users,
    webhooks,
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
    feeds.router,
    webhooks.router,
    imports.router,
    signin.router,
]
