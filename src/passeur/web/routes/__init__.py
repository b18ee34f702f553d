"""One router per area of the partner space; app.py includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from passeur.web.routes import (
    auth,
    client_documents,
    clients,
    home,
    installations,
    integrations,
    oauth,
    store,
    team,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    home.router,
    clients.router,
    client_documents.router,
    team.router,
    store.router,
    installations.router,
    oauth.router,
    integrations.router,
]
