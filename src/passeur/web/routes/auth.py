"""Signing in and out, and choosing the UI's language."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.errors import InvalidInput
from passeur.domain.partners import check_locale
from passeur.services import sessions
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import (
    LANGUAGE_COOKIE,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    maybe_visitor,
    the_app,
)

router = APIRouter()


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> Response:
    if maybe_visitor(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "signin.html", {"next": _safe_next(next), "email": ""})


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    email: str = Form("", max_length=254),
    password: str = Form("", max_length=1000),
    next: str = Form("/", max_length=2000),
) -> Response:
    app = the_app(request)
    address = request.client.host if request.client else "unknown"
    try:
        signed = sessions.sign_in(app, email, password, address)
    except sessions.LockedOut as exc:
        error = N_("Too many failed sign-ins. Try again after %(time)s.")
        values = {"time": f"{exc.until:%H:%M:%S} UTC"}
        return _refused(request, email, next, error, values, status=429)
    except InvalidInput:
        error = N_("Wrong e-mail address or password.")
        return _refused(request, email, next, error, {}, status=400)
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(sessions.signin.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.delete_cookie(PRESESSION_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    sessions.sign_out(the_app(request), request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
def choose_language(
    request: Request, locale: str = Form(..., max_length=10), next: str = Form("/")
) -> Response:
    """The visitor's language: kept on their account when signed in, in a cookie anyway."""
    check_locale(locale)
    v = maybe_visitor(request)
    if v is not None:
        sessions.set_locale(the_app(request), v.user.id, locale)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, locale, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _refused(
    request: Request,
    email: str,
    next: str,
    error: str,
    values: dict[str, str],
    *,
    status: int,
) -> Response:
    context = {"next": _safe_next(next), "email": email, "error": error, "error_values": values}
    return render(request, "signin.html", context, status=status)


def _safe_next(target: str) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
