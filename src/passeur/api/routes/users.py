"""Users of the partner space, their roles, and who is assigned to which client."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from passeur.api.pagination import Page
from passeur.api.routes.common import Input, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.partners import Access, Role, User
from passeur.services import partners

router = APIRouter(tags=["users"])
READ = requires("users:read")
WRITE = requires("users:write")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[Role]
    client_id: int | None = Field(description="Business users: the client they belong to.")
    locale: str


class UserIn(Input):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=4)
    client_id: RowId | None = Field(default=None, description="For a business user.")
    locale: str = Field(default="", max_length=10)


class RolesIn(Input):
    roles: list[Role] = Field(min_length=1, max_length=4)


class AssignmentIn(Input):
    access: Access


class TeamMember(BaseModel):
    user: UserOut
    access: Access


class TeamOut(BaseModel):
    members: list[TeamMember]
    business_users: list[UserOut]


def out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        email=u.email,
        name=u.name,
        roles=sorted(u.roles),
        client_id=u.client_id,
        locale=u.locale,
    )


@router.get("/users", response_model=Page[UserOut])
def list_users(request: Request, c: ApiCaller = Depends(READ)) -> Page[UserOut]:
    found = partners.list_users(the_app(request), c.partner_id, actor=c.actor())
    return Page(items=[out(u) for u in found])


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, request: Request, c: ApiCaller = Depends(WRITE)) -> UserOut:
    """A partner-space user, or a business user of one client. They sign in once an
    operator or the sign-in flow sets their password (none is taken here)."""
    made = partners.add_user(
        the_app(request),
        c.partner_id,
        body.email,
        body.name,
        set(body.roles),
        client_id=body.client_id,
        locale=body.locale,
        actor=c.actor(),
    )
    return out(made)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: PathId, request: Request, c: ApiCaller = Depends(READ)) -> UserOut:
    return out(partners.get_user(the_app(request), c.partner_id, user_id, actor=c.actor()))


@router.put("/users/{user_id}/roles", response_model=UserOut)
def set_roles(
    user_id: PathId, body: RolesIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> UserOut:
    """A partner-space user's roles (the firm keeps at least one administrator)."""
    changed = partners.set_roles(
        the_app(request), c.partner_id, user_id, set(body.roles), actor=c.actor()
    )
    return out(changed)


@router.get("/clients/{client_id}/team", response_model=TeamOut)
def team(client_id: PathId, request: Request, c: ApiCaller = Depends(READ)) -> TeamOut:
    found = partners.team(the_app(request), c.partner_id, client_id, actor=c.actor())
    return TeamOut(
        members=[TeamMember(user=out(u), access=a) for u, a in found.members],
        business_users=[out(u) for u in found.business_users],
    )


@router.put("/clients/{client_id}/team/{user_id}", response_model=TeamOut)
def assign(
    client_id: PathId,
    user_id: PathId,
    body: AssignmentIn,
    request: Request,
    c: ApiCaller = Depends(WRITE),
) -> TeamOut:
    """Give a user access to the client (view or edit)."""
    app = the_app(request)
    partners.assign(app, c.partner_id, user_id, client_id, body.access, actor=c.actor())
    return team(client_id, request, c)


@router.delete("/clients/{client_id}/team/{user_id}", response_model=TeamOut)
def unassign(
    client_id: PathId, user_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> TeamOut:
    app = the_app(request)
    partners.unassign(app, c.partner_id, user_id, client_id, actor=c.actor())
    return team(client_id, request, c)
