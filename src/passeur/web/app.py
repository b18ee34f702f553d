"""A read-only status page on loopback: clients, integrations and exports with their states."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from passeur.bootstrap import App
from passeur.services import clients, exports, installations, integrations, partners

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def create(app: App) -> FastAPI:
    web = FastAPI(title="passeur", docs_url=None, redoc_url=None)

    @web.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @web.get("/", response_class=HTMLResponse)
    def status(request: Request) -> HTMLResponse:
        firms = []
        for partner in partners.list_partners(app):
            installed = {i.id: i for i in installations.list_installations(app, partner.id)}
            firms.append(
                {
                    "partner": partner,
                    "clients": clients.list_clients(app, partner.id),
                    "installations": installed,
                    "integrations": integrations.list_integrations(app, partner.id),
                    "exports": exports.list_exports(app, partner.id),
                }
            )
        return TEMPLATES.TemplateResponse(request, "status.html", {"firms": firms})

    return web
