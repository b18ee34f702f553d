"""Home: what needs attention across the practice, each line a link to where it is fixed."""

from __future__ import annotations

from babel.dates import format_timedelta
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, Reach, reach
from passeur.services import overview
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, v: Visitor = Depends(visitor)) -> Response:
    if v.is_business:
        return RedirectResponse("/business", status_code=303)
    found = overview.overview(the_app(request), v.partner_id, actor=v.actor)
    waited = ""
    if found.exports is not None and found.exports.oldest_waiting is not None:
        since = found.exports.oldest_waiting["export"].created_at
        waited = format_timedelta(found.now - since, locale=v.lang.format_locale)
    context = {
        "o": found,
        "waited": waited,
        "today": found.now.date().isoformat(),
        # Sees the clients assigned to them only: with none, an assignment is awaited.
        "assigned_only": reach(v.actor, Action.SEE_CLIENTS) is Reach.ASSIGNED,
    }
    return render(request, "home.html", context, section="home")
