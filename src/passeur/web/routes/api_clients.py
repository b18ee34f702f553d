"""Settings → API clients: an administrator's API clients and personal access tokens.

A new secret or token is shown on the page that answers its creation, once (no redirect
carries it; the page is not cached); passeur keeps only its digest.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.api_scopes import FAMILIES
from passeur.domain.errors import InvalidInput
from passeur.services import api_clients
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()


@router.get("/settings/api-clients", response_class=HTMLResponse)
def page(request: Request, v: Visitor = Depends(visitor)) -> Response:
    return _page(request, v)


@router.post("/settings/api-clients", response_class=HTMLResponse)
def create(
    request: Request,
    v: Visitor = Depends(visitor),
    name: str = Form("", max_length=1000),
    scopes: list[str] = Form([]),
) -> Response:
    try:
        made, secret = api_clients.create(
            the_app(request), v.partner_id, name, frozenset(scopes), actor=v.actor
        )
    except InvalidInput as exc:
        return _page(request, v, error=str(exc), status=400)
    return _page(request, v, shown={"client": made, "secret": secret})


@router.post("/settings/api-clients/{api_client_id:id}/revoke")
def revoke(request: Request, api_client_id: int, v: Visitor = Depends(visitor)) -> Response:
    api_clients.revoke(the_app(request), v.partner_id, api_client_id, actor=v.actor)
    return RedirectResponse("/settings/api-clients", status_code=303)


@router.post("/settings/api-clients/{api_client_id:id}/tokens", response_class=HTMLResponse)
def make_token(
    request: Request,
    api_client_id: int,
    v: Visitor = Depends(visitor),
    name: str = Form("", max_length=1000),
    days: int = Form(90, ge=1, le=api_clients.MAX_PERSONAL_DAYS),
) -> Response:
    try:
        issued = api_clients.create_personal_token(
            the_app(request), v.partner_id, api_client_id, name, days=days, actor=v.actor
        )
    except InvalidInput as exc:
        return _page(request, v, error=str(exc), status=400)
    return _page(request, v, shown={"token": issued.token, "info": issued.info})


def _page(
    request: Request,
    v: Visitor,
    *,
    shown: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    app = the_app(request)
    found = api_clients.list_api_clients(app, v.partner_id, actor=v.actor)
    context = {
        "api_clients": found,
        "families": FAMILIES,
        "shown": shown or {},
        "error": error,
    }
    return render(request, "settings/api_clients.html", context, status=status, section="api")
