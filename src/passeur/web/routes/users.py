"""Settings → Users: the partner's users, and inviting a new one (administrators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passeur.domain.access import Action, Reach, actor_of, may, reach
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.partners import PARTNER_ROLES, Role
from passeur.domain.signin import MIN_PASSWORD_LENGTH, check_new_password
from passeur.services import partners
from passeur.web.i18n import N_
from passeur.web.pages import render
from passeur.web.visitors import Visitor, the_app, visitor

router = APIRouter()

ROLES = [Role.ADMINISTRATOR, Role.CLIENT_MANAGER, Role.ACCOUNTANT]
# What the form says next to a field the service refused (its own words are English).
_FIELD_ERRORS = {
    "name": N_("A name may have at most 200 characters."),
    "email": N_("Enter an e-mail address, such as ada@firm.be."),
    "password": N_("A password needs %(min)s to 1,000 characters."),
    "roles": N_("Choose at least one role."),
    "locale": N_("Choose one of the languages."),
}
_TAKEN = N_("A user with this e-mail address already exists.")
_LAST_ADMIN = N_("The firm needs at least one administrator: give the role to someone else first.")


@router.get("/settings/users", response_class=HTMLResponse)
def users_page(
    request: Request, v: Visitor = Depends(visitor), added: str = "", changed: str = ""
) -> Response:
    return _page(request, v, added=added, changed=changed)


@router.post("/settings/users", response_class=HTMLResponse)
def invite(
    request: Request,
    v: Visitor = Depends(visitor),
    name: str = Form("", max_length=1000),
    email: str = Form("", max_length=1000),
    password: str = Form("", max_length=2000),
    roles: list[str] = Form([]),
    locale: str = Form("", max_length=10),
) -> Response:
    form = {"name": name, "email": email, "roles": roles, "locale": locale}
    try:
        chosen = {Role(r) for r in roles if r in {p.value for p in PARTNER_ROLES}}
        if len(chosen) != len(set(roles)):
            raise InvalidInput("unknown role", field="roles")
        if not password and may(v.actor, Action.MANAGE_USERS, v.partner_id):
            # The only way in until invitations are e-mailed (docs/decisions.md).
            check_new_password(password)
        user = partners.add_user(
            the_app(request),
            v.partner_id,
            email,
            name,
            chosen,
            password,
            locale=locale,
            actor=v.actor,
        )
    except InvalidInput as exc:
        if exc.field in _FIELD_ERRORS:
            errors = {exc.field: v._(_FIELD_ERRORS[exc.field], min=MIN_PASSWORD_LENGTH)}
        else:
            errors = {"form": str(exc)}
        return _page(request, v, form=form, errors=errors, status=400)
    except Conflict:
        return _page(request, v, form=form, errors={"email": v._(_TAKEN)}, status=400)
    return RedirectResponse(f"/settings/users?added={user.id}", status_code=303)


@router.get("/settings/users/{user_id:id}", response_class=HTMLResponse)
def roles_form(request: Request, user_id: int, v: Visitor = Depends(visitor)) -> Response:
    user = partners.get_user(the_app(request), v.partner_id, user_id, actor=v.actor)
    if user.is_business or not may(v.actor, Action.MANAGE_USERS, v.partner_id):
        return RedirectResponse("/settings/users", status_code=303)
    return _roles_page(request, user, [r.value for r in user.roles], "")


@router.post("/settings/users/{user_id:id}", response_class=HTMLResponse)
def change_roles(
    request: Request,
    user_id: int,
    v: Visitor = Depends(visitor),
    roles: list[str] = Form([]),
) -> Response:
    app = the_app(request)
    user = partners.get_user(app, v.partner_id, user_id, actor=v.actor)
    try:
        chosen = {Role(r) for r in roles if r in {p.value for p in PARTNER_ROLES}}
        if len(chosen) != len(set(roles)):
            raise InvalidInput("unknown role", field="roles")
        partners.set_roles(app, v.partner_id, user_id, chosen, actor=v.actor)
    except InvalidInput:
        return _roles_page(request, user, roles, v._(_FIELD_ERRORS["roles"]), status=400)
    except Conflict:
        return _roles_page(request, user, roles, v._(_LAST_ADMIN), status=409)
    return RedirectResponse(f"/settings/users?changed={user_id}", status_code=303)


def _roles_page(
    request: Request, user: Any, chosen: list[str], error: str, *, status: int = 200
) -> Response:
    context = {"user": user, "roles": ROLES, "chosen": chosen, "error": error}
    return render(request, "settings/roles.html", context, status=status, section="users")


def _page(
    request: Request,
    v: Visitor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    added: str = "",
    changed: str = "",
    status: int = 200,
) -> Response:
    members = partners.list_members(the_app(request), v.partner_id, actor=v.actor)
    staff = [m for m in members if not m.user.is_business]
    context = {
        "staff": staff,
        "business": [m for m in members if m.user.is_business],
        "sees_all": {m.user.id for m in staff if _sees_every_client(m.user)},
        "added": next((m.user for m in members if str(m.user.id) == added), None),
        "changed": next((m.user for m in members if str(m.user.id) == changed), None),
        "may_invite": may(v.actor, Action.MANAGE_USERS, v.partner_id),
        "roles": ROLES,
        "form": form or {"name": "", "email": "", "roles": [], "locale": v.lang.code},
        "errors": errors or {},
        "min_password": MIN_PASSWORD_LENGTH,
    }
    return render(request, "settings/users.html", context, status=status, section="users")


def _sees_every_client(user: Any) -> bool:
    """Administrators and client managers reach every client without being assigned."""
    return reach(actor_of(user, {}), Action.SEE_CLIENTS) is Reach.PARTNER
