"""Settings → Webhooks: where the partner's own software hears of events (administrators),
and Exports → Webhooks: what became of the events, for whoever reads the exports."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.events import EventType
from passeur.services import clients as clients_service
from passeur.services import webhook_deliveries
from passeur.services import webhook_subscriptions as webhooks
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

_FIELD_ERRORS = {
    "url": N_("Enter the address of your endpoint, starting with https://."),
    "event_types": N_("Choose among the event types listed."),
    "max_concurrent": N_("Choose 1 to 4 events at once."),
}
_CLIENTS = N_("Choose among your clients.")


@router.get("/settings/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, v: Visitor = Depends(visitor)) -> Response:
    return _page(request, v)


@router.post("/settings/webhooks", response_class=HTMLResponse)
def add(
    request: Request,
    v: Visitor = Depends(visitor),
    url: str = Form("", max_length=2000),
    event_types: list[str] = Form([]),
    client_ids: list[int] = Form([]),
    max_concurrent: int = Form(1),
) -> Response:
    form = {"url": url, "event_types": event_types, "client_ids": client_ids,
            "max_concurrent": max_concurrent}  # fmt: skip
    try:
        made, secret = webhooks.add(
            the_app(request), v.partner_id, url, event_types=event_types, client_ids=client_ids,
            max_concurrent=max_concurrent, actor=v.actor,
        )  # fmt: skip
    except InvalidInput as exc:
        message = _FIELD_ERRORS.get(exc.field or "")
        errors = {exc.field or "form": v._(message) if message else str(exc)}
        return _page(request, v, form=form, errors=errors, status=400)
    except NotFound:
        return _page(request, v, form=form, errors={"client_ids": v._(_CLIENTS)}, status=400)
    # Shown on this answer only: the secret is in no URL, no later page and no log.
    return _page(request, v, added=made, secret=secret)


@router.post("/settings/webhooks/{subscription_id:id}/remove", response_class=HTMLResponse)
def remove(request: Request, subscription_id: int, v: Visitor = Depends(visitor)) -> Response:
    webhooks.remove(the_app(request), v.partner_id, subscription_id, actor=v.actor)
    return _page(request, v, removed=subscription_id)


@router.post("/settings/webhooks/{subscription_id:id}/test", response_class=HTMLResponse)
async def test(request: Request, subscription_id: int, v: Visitor = Depends(visitor)) -> Response:
    ok, said = await webhooks.test(the_app(request), v.partner_id, subscription_id, actor=v.actor)
    tested = {"id": subscription_id, "ok": ok, "said": said}
    return await asyncio.to_thread(_page, request, v, tested=tested)


@router.get("/exports/webhooks", response_class=HTMLResponse)
def deliveries_page(request: Request, v: Visitor = Depends(visitor)) -> Response:
    recent = webhook_deliveries.recent(the_app(request), v.partner_id, actor=v.actor)
    return render(request, "exports/webhooks.html", {"recent": recent}, section="exports")


def _page(
    request: Request,
    v: Visitor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **notices: Any,
) -> Response:
    app = the_app(request)
    webhooks.list_subscriptions(app, v.partner_id, actor=v.actor)  # administrators only
    recent = webhook_deliveries.recent(app, v.partner_id, actor=v.actor)
    context = {
        "recent": recent,
        "clients": clients_service.list_clients(app, v.partner_id, actor=v.actor),
        "event_types": list(EventType),
        "form": form or {"url": "", "event_types": [], "client_ids": [], "max_concurrent": 1},
        "errors": errors or {},
        **notices,
    }
    return render(request, "settings/webhooks.html", context, status=status, section="webhooks")
