"""Who is asking: the signed-in user behind the session cookie, as an actor for services.

Every page depends on `visitor` (or `maybe_visitor`); the app depends on `csrf_guard`,
so no request that changes state gets past without the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace

from fastapi import Depends, Request

from passeur.bootstrap import App
from passeur.domain.access import Actor
from passeur.domain.errors import NotFound
from passeur.domain.partners import User
from passeur.monitoring import logs
from passeur.services import actors, sessions
from passeur.web import i18n

SESSION_COOKIE = "passeur_session"
PRESESSION_COOKIE = "passeur_presession"  # the sign-in form's CSRF token, before a session
LANGUAGE_COOKIE = "passeur_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Exception):
    """No live session: the visitor is sent to the sign-in page."""


class CsrfRefused(Exception):
    """A request that changes state came without the session's CSRF token."""


@dataclass(frozen=True)
class Visitor:
    user: User
    actor: Actor
    csrf: str
    lang: i18n.Language

    @property
    def partner_id(self) -> int:
        return self.user.partner_id

    @property
    def is_business(self) -> bool:
        return self.user.is_business

    def _(self, message: str, **values: object) -> str:
        return self.lang.gettext(message, **values)


def the_app(request: Request) -> App:
    app: App = request.app.state.passeur
    return app


def language_of(request: Request, user: User | None = None) -> i18n.Language:
    """The user's choice, else the language cookie, else the browser's Accept-Language."""
    if user is not None and user.locale in i18n.LOCALES:
        return i18n.language(user.locale)
    cookie = request.cookies.get(LANGUAGE_COOKIE, "")
    if cookie in i18n.LOCALES:
        return i18n.language(cookie)
    return i18n.language(i18n.negotiate(request.headers.get("accept-language", "")))


def maybe_visitor(request: Request) -> Visitor | None:
    """The signed-in visitor, or None; cached on the request."""
    if hasattr(request.state, "visitor"):
        cached: Visitor | None = request.state.visitor
        return cached
    found = _load(request)
    request.state.visitor = found
    if found is not None:  # every line logged for this request names whose it is
        logs.bind(partner_id=found.partner_id, user_id=found.user.id)
    return found


def visitor(request: Request) -> Visitor:
    found = maybe_visitor(request)
    if found is None:
        raise SignInRequired()
    return found


def csrf_guard(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match (form or header).

    The token is read from the header (htmx) or the form, which Starlette keeps for the
    route to read again.
    """
    if request.method in _SAFE_METHODS:
        return
    expected = _expected_csrf(request)
    given = request.headers.get(CSRF_HEADER, "")
    if not given:
        given = getattr(request.state, "csrf_from_form", "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfRefused()


async def read_csrf_field(request: Request) -> None:
    """Read the CSRF field of a form body before the guard runs (an async dependency)."""
    if request.method in _SAFE_METHODS or request.headers.get(CSRF_HEADER):
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        request.state.csrf_from_form = value if isinstance(value, str) else ""


def presession_token(request: Request) -> str:
    """The anonymous sign-in form's token: the cookie's, or a new one to set."""
    return request.cookies.get(PRESESSION_COOKIE, "") or secrets.token_urlsafe(32)


def _expected_csrf(request: Request) -> str:
    found = maybe_visitor(request)
    if found is not None:
        return found.csrf
    return request.cookies.get(PRESESSION_COOKIE, "")


def _load(request: Request) -> Visitor | None:
    app = the_app(request)
    live = sessions.session(app, request.cookies.get(SESSION_COOKIE, ""))
    if live is None:
        return None
    try:
        user, actor = actors.signed_in(app, live.user_id)
    except NotFound:
        return None
    origin = request.client.host if request.client else "web"  # for the audit trail
    actor = replace(actor, origin=origin)
    return Visitor(user, actor, live.csrf, language_of(request, user))


CurrentVisitor = Depends(visitor)
