"""Notifications in the partner space: the signed-in person's list (its unread count is
in every page's header), and Settings → Notifications (the firm's choice, set by
administrators, and each person's own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, may
from passeur.domain.errors import InvalidInput
from passeur.domain.notices import MAX_STALE_DAYS, MODE_LABELS, TITLES, Mode
from passeur.services import notifications
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.routes.clients import partner_visitor
from passeur.web.visitors import Visitor, the_app

router = APIRouter()

_FIELD_ERRORS = {
    "mode": N_("Choose how often among those listed."),
    "stale_days": N_("Give a number of days from 1 to 90."),
}


@router.get("/notifications", response_class=HTMLResponse)
def page(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    found = notifications.list_mine(the_app(request), v.partner_id, v.user.id, actor=v.actor)
    shown = [{"notice": n, "title": _title(v, n.cause, n.details)} for n in found]
    return render(request, "notifications/list.html", {"shown": shown}, section="notifications")


@router.post("/notifications/read")
def read(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    notifications.mark_read(the_app(request), v.partner_id, v.user.id, actor=v.actor)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/settings/notifications", response_class=HTMLResponse)
def settings_page(request: Request, v: Visitor = Depends(partner_visitor)) -> Response:
    return _settings(request, v)


@router.post("/settings/notifications", response_class=HTMLResponse)
def save_firm(
    request: Request,
    v: Visitor = Depends(partner_visitor),
    mode: str = Form("", max_length=20),
    stale_days: int = Form(0),
) -> Response:
    try:
        notifications.set_settings(the_app(request), v.partner_id, mode, stale_days, actor=v.actor)
    except InvalidInput as exc:
        return _settings(request, v, errors=_errors(v, exc), status=400)
    return _settings(request, v, saved=True)


@router.post("/settings/notifications/mine", response_class=HTMLResponse)
def save_mine(
    request: Request, v: Visitor = Depends(partner_visitor), mode: str = Form("", max_length=20)
) -> Response:
    try:
        notifications.set_user_mode(the_app(request), v.partner_id, v.user.id, mode, actor=v.actor)
    except InvalidInput as exc:
        return _settings(request, v, errors=_errors(v, exc), status=400)
    return _settings(request, v, saved=True)


def _settings(request: Request, v: Visitor, status: int = 200, **extra: Any) -> Response:
    app = the_app(request)
    context = {
        "firm": notifications.get_settings(app, v.partner_id, actor=v.actor),
        "mine": notifications.user_mode(app, v.partner_id, v.user.id, actor=v.actor),
        "modes": [(m.value, MODE_LABELS[m]) for m in Mode],
        "may_change": may(v.actor, Action.MANAGE_USERS, v.partner_id),
        "max_days": MAX_STALE_DAYS,
        "errors": {},
        **extra,
    }
    return render(request, "settings/notifications.html", context, status=status)


def _errors(v: Visitor, exc: InvalidInput) -> dict[str, str]:
    message = _FIELD_ERRORS.get(exc.field or "")
    return {exc.field or "form": v._(message) if message else str(exc)}


def _title(v: Visitor, cause: Any, details: dict[str, Any]) -> str:
    integration = f"{details.get('installation', '')} ({details.get('client', '')})"
    return v._(TITLES[cause], integration=integration, days=details.get("days", ""),
               date=details.get("date", ""))  # fmt: skip
