"""Rendering a page (or one block of it, for htmx) in the visitor's language.

Every template gets the same names: `v` (the visitor, or None), `_` and `ngettext`
(translations), `lang` (dates, amounts), `csrf` (the token forms carry) and `nav` (the
sections the visitor may open).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks

from passeur.domain.access import Action, may
from passeur.services import notifications
from passeur.web import i18n, labels
from passeur.web.i18n import N_
from passeur.web.visitors import (
    CSRF_FIELD,
    PRESESSION_COOKIE,
    Visitor,
    language_of,
    maybe_visitor,
    presession_token,
)

TEMPLATES = Jinja2Blocks(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.autoescape = True  # every template, whatever its name: values are text
TEMPLATES.env.globals.update(
    label=labels.label, tone=labels.tone, folders=labels.FOLDERS, action_label=labels.action_label
)


@dataclass(frozen=True)
class Section:
    key: str
    href: str
    label: str


# Sections of the partner space, each shown to whoever may do its action.
_SECTIONS = [
    (Section("home", "/", N_("Home")), None),
    (Section("clients", "/clients", N_("Clients")), Action.SEE_CLIENTS),
    (Section("exports", "/exports", N_("Exports")), Action.SEE_EXPORTS),
    (Section("store", "/store", N_("Discover more")), Action.MANAGE_INSTALLATIONS),
    (Section("installations", "/installations", N_("Extensions")), Action.SEE_INSTALLATIONS),
    (Section("users", "/settings/users", N_("Users")), Action.SEE_USERS),
    (Section("audit", "/settings/audit", N_("Audit trail")), Action.SEE_AUDIT),
    (Section("api", "/settings/api-clients", N_("API clients")), Action.MANAGE_API_CLIENTS),
    (Section("webhooks", "/settings/webhooks", N_("Webhooks")), Action.MANAGE_INSTALLATIONS),
]


def sections(v: Visitor | None) -> list[Section]:
    if v is None:
        return []
    if v.is_business:
        return [Section("business", "/business", N_("Documents"))]
    return [s for s, action in _SECTIONS if action is None or may(v.actor, action, v.partner_id)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
    section: str = "",
) -> Response:
    """The page (or, with `block`, one block of it) with the names every template uses."""
    v = maybe_visitor(request)
    lang = v.lang if v is not None else language_of(request)
    csrf = v.csrf if v is not None else presession_token(request)
    values: dict[str, Any] = {
        "v": v,
        "_": lang.gettext,
        "ngettext": lang.ngettext,
        "lang": lang,
        "languages": i18n.NAMES,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "nav": sections(v),
        "section": section,
        "unread": _unread(request, v),
        **(context or {}),
    }
    kwargs: dict[str, Any] = {"status_code": status}
    if block is not None:
        kwargs["block_name"] = block
    response = TEMPLATES.TemplateResponse(request, template, values, **kwargs)
    if v is None and request.cookies.get(PRESESSION_COOKIE) != csrf:
        response.set_cookie(
            PRESESSION_COOKIE,
            csrf,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def _unread(request: Request, v: Visitor | None) -> int:
    """The header's count of the person's unread notifications (one indexed count)."""
    if v is None or v.is_business:
        return 0
    app = request.app.state.passeur
    return notifications.unread_count(app, v.partner_id, v.user.id, actor=v.actor)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
