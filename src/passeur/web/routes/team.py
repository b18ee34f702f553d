"""A client's team: who of the firm works on it (Edit or View), and its business users."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, may, require
from passeur.domain.partners import Access
from passeur.services import clients, partners
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.routes.clients import client_context, partner_visitor
from passeur.web.visitors import Visitor, the_app

router = APIRouter()
DONE = ("added", "changed", "removed")
FIELD_ERRORS = {
    "user": N_("Choose a user."),
    "access": N_("Choose Edit or View."),
}


@router.get("/clients/{client_id:id}/team", response_class=HTMLResponse)
def team(
    client_id: int, request: Request, done: str = "", v: Visitor = Depends(partner_visitor)
) -> Response:
    return _page(request, v, client_id, done=done if done in DONE else "")


@router.post("/clients/{client_id:id}/team", response_class=HTMLResponse)
def add_member(
    client_id: int,
    request: Request,
    user: str = Form("", max_length=20),
    access: str = Form("", max_length=10),
    change: str = Form("", max_length=5),
    v: Visitor = Depends(partner_visitor),
) -> Response:
    """Add a member, or change a member's access (assigning again replaces the access)."""
    require(v.actor, Action.MANAGE_TEAM, v.partner_id, client_id)
    errors = {}
    if not user.isdigit():
        errors["user"] = FIELD_ERRORS["user"]
    if access not in {a.value for a in Access}:
        errors["access"] = FIELD_ERRORS["access"]
    if errors:
        return _page(request, v, client_id, errors=errors, chosen=(user, access), status=400)
    partners.assign(
        the_app(request), v.partner_id, int(user), client_id, Access(access), actor=v.actor
    )
    return _back(client_id, "changed" if change else "added")


@router.post("/clients/{client_id:id}/team/{user_id:id}/remove")
def remove_member(
    client_id: int, user_id: int, request: Request, v: Visitor = Depends(partner_visitor)
) -> Response:
    partners.unassign(the_app(request), v.partner_id, user_id, client_id, actor=v.actor)
    return _back(client_id, "removed")


def _page(
    request: Request,
    v: Visitor,
    client_id: int,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    chosen: tuple[str, str] = ("", Access.EDIT.value),
    status: int = 200,
) -> Response:
    app = the_app(request)
    client = clients.get_client(app, v.partner_id, client_id, actor=v.actor)
    found = partners.team(app, v.partner_id, client_id, actor=v.actor)
    may_manage = may(v.actor, Action.MANAGE_TEAM, v.partner_id, client_id)
    candidates = (
        partners.team_candidates(app, v.partner_id, client_id, actor=v.actor) if may_manage else []
    )
    context = {
        **client_context(v, client, "team"),
        "team": found,
        "candidates": candidates,
        "may_manage_team": may_manage,
        "accesses": list(Access),
        "done": done,
        "errors": errors or {},
        "chosen": {"user": chosen[0], "access": chosen[1]},
    }
    return render(request, "clients/team.html", context, status=status, section="clients")


def _back(client_id: int, done: str) -> Response:
    return RedirectResponse(
        f"/clients/{client_id}/team?{urlencode({'done': done})}", status_code=303
    )
