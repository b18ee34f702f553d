"""Partners (tenants), their users, and which clients each user may see.

Creating partners is the operator's (the command line's); users and teams follow the
rules in domain/access.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import CHANGED_SECRET, Change
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.fields import Field, FieldKind
from passeur.domain.names import check_name
from passeur.domain.partners import (
    Access,
    ClientStatus,
    Partner,
    Role,
    User,
    check_locale,
    check_roles,
)
from passeur.services import audit, sessions
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import partners as rows

_EMAIL = Field("email", "E-mail", FieldKind.EMAIL, required=True)


def create_partner(app: App, name: str) -> Partner:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a partner needs a name of 1 to 200 characters")
    check_name(name, "a partner's name")
    with transaction(app.engine) as conn:
        return rows.add_partner(conn, name)


def list_partners(app: App) -> list[Partner]:
    with reading(app.engine) as conn:
        return rows.list_partners(conn)


def get_partner(app: App, partner_id: int) -> Partner:
    """The partner, or NotFound."""
    with reading(app.engine) as conn:
        return rows.get_partner(conn, partner_id)


def the_only_partner(app: App) -> Partner:
    """For the CLI on a one-firm installation: the partner, when there is exactly one."""
    found = list_partners(app)
    if len(found) != 1:
        raise InvalidInput(f"there are {len(found)} partners; say which one with --partner")
    return found[0]


def add_user(
    app: App,
    partner_id: int,
    email: str,
    name: str,
    roles: set[Role],
    password: str = "",
    *,
    client_id: int | None = None,
    locale: str = "",
    actor: Actor = OPERATOR,
) -> User:
    """A partner-space user (administrators add them), or a business user of one client
    (whoever manages that client's team adds them).

    `password` (optional: the operator can set it later) must be a valid new password;
    `locale` is the language the user's pages open in ("": their browser's).
    """
    check_roles(frozenset(roles), client_id)
    action = Action.MANAGE_TEAM if client_id is not None else Action.MANAGE_USERS
    require(actor, action, partner_id)
    email = _clean_email(email)
    name = name.strip()
    if len(name) > 200:
        raise InvalidInput("a name may have at most 200 characters", field="name")
    check_name(name, "a user's name")
    check_locale(locale, allow_empty=True)
    hashed = sessions.hash_password(password) if password else ""
    with transaction(app.engine) as conn:
        rows.get_partner(conn, partner_id)
        if client_id is not None:
            client = rows.get_client(conn, partner_id, client_id)
            require(actor, action, partner_id, client_id)
            if client.status is ClientStatus.ARCHIVED:
                raise Conflict(f"client {client.name} is archived")
        if rows.email_taken(conn, email):
            raise Conflict(f"a user with e-mail {email} already exists")
        try:
            with conn.begin_nested():  # a concurrent twin: the unique index decides
                user = rows.add_user(
                    conn, partner_id, email, name or email, roles, hashed, client_id, locale
                )
        except IntegrityError:
            raise Conflict(f"a user with e-mail {email} already exists") from None
        after = {**state_of(user), "password": CHANGED_SECRET if password else ""}
        change = Change("user.create", user.id, {}, after, client_id=client_id)
        audit.record(conn, partner_id, actor, change)
        return user


def state_of(user: User) -> dict[str, Any]:
    """A user as the audit trail keeps them (never the password, not even its hash)."""
    return {
        "email": user.email,
        "name": user.name,
        "roles": sorted(r.value for r in user.roles),
        "client_id": user.client_id,
    }


def get_user(app: App, partner_id: int, user_id: int, *, actor: Actor = OPERATOR) -> User:
    require(actor, Action.SEE_USERS, partner_id)
    with reading(app.engine) as conn:
        return rows.get_user(conn, partner_id, user_id)


def set_roles(
    app: App, partner_id: int, user_id: int, roles: set[Role], *, actor: Actor = OPERATOR
) -> User:
    """Change a partner-space user's roles (administrators do). The firm keeps at least
    one administrator; a business user's role is not changed here."""
    require(actor, Action.MANAGE_USERS, partner_id)
    if Role.BUSINESS in roles:
        raise InvalidInput("business users are added on a client's Team tab", field="roles")
    check_roles(frozenset(roles), None)
    with transaction(app.engine) as conn:
        rows.lock_partner(conn, partner_id)  # two demotions at once cannot both pass
        user = rows.get_user(conn, partner_id, user_id)
        if user.is_business:
            raise Conflict(f"{user.email} is a business user of a client; their role stays")
        if Role.ADMINISTRATOR not in roles and rows.administrators(conn, partner_id) == [user_id]:
            raise Conflict(f"{user.email} is the firm's last administrator; name another first")
        rows.set_roles(conn, user_id, roles)
        changed = rows.get_user(conn, partner_id, user_id)
        change = Change("user.roles", user_id, state_of(user), state_of(changed))
        audit.record(conn, partner_id, actor, change)
        return changed


def _clean_email(raw: str) -> str:
    try:
        email = _EMAIL.clean(raw)
    except InvalidInput as exc:
        raise InvalidInput(str(exc), field="email") from None
    if not email:
        raise InvalidInput("give the user's e-mail address", field="email")
    return str(email)


def list_users(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[User]:
    require(actor, Action.SEE_USERS, partner_id)
    with reading(app.engine) as conn:
        return rows.list_users(conn, partner_id)


def assignments(
    app: App, partner_id: int, *, actor: Actor = OPERATOR
) -> dict[int, dict[int, Access]]:
    """Which clients each user is assigned to, and with which access."""
    require(actor, Action.SEE_USERS, partner_id)
    with reading(app.engine) as conn:
        return rows.assignments_of_partner(conn, partner_id)


@dataclass(frozen=True)
class Member:
    """A user as the Users page lists them: how many clients they are assigned to, or
    (a business user) the client they belong to."""

    user: User
    assigned: int
    client_name: str = ""


def list_members(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Member]:
    require(actor, Action.SEE_USERS, partner_id)
    with reading(app.engine) as conn:
        return [
            Member(rows.to_user(r), r.assigned, r.client_name or "")
            for r in rows.list_user_summaries(conn, partner_id)
        ]


def assign(
    app: App,
    partner_id: int,
    user_id: int,
    client_id: int,
    access: Access,
    *,
    actor: Actor = OPERATOR,
) -> None:
    """Give a user access to one client (a new user sees nothing until assigned)."""
    require(actor, Action.MANAGE_TEAM, partner_id)
    with transaction(app.engine) as conn:
        user = rows.get_user(conn, partner_id, user_id)
        rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_TEAM, partner_id, client_id)
        if user.is_business:
            raise Conflict(f"{user.email} is a business user of client {user.client_id}")
        before = rows.assigned_client_ids(conn, user_id).get(client_id)
        rows.assign(conn, user_id, client_id, access)
        change = Change(
            "assignment.set", user_id,
            {"user": user.email, "access": before.value} if before else {},
            {"user": user.email, "access": Access(access).value}, client_id=client_id,
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)


def unassign(
    app: App, partner_id: int, user_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> None:
    """Take a client away from a user: they stop seeing it at their next request."""
    require(actor, Action.MANAGE_TEAM, partner_id)
    with transaction(app.engine) as conn:
        user = rows.get_user(conn, partner_id, user_id)
        rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_TEAM, partner_id, client_id)
        before = rows.assigned_client_ids(conn, user_id).get(client_id)
        if not rows.unassign(conn, user_id, client_id):
            raise NotFound(f"{user.email} is not assigned to client {client_id}")
        change = Change(
            "assignment.remove", user_id,
            {"user": user.email, "access": before.value if before else None}, {},
            client_id=client_id,
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)


@dataclass(frozen=True)
class Team:
    """Who works on a client: partner-space users with their access, and the client's own
    business users."""

    members: list[tuple[User, Access]]
    business_users: list[User]


def team(app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR) -> Team:
    """A client's team, for whoever may see the client."""
    require(actor, Action.SEE_CLIENTS, partner_id)
    with reading(app.engine) as conn:
        rows.get_client(conn, partner_id, client_id)
        require(actor, Action.SEE_CLIENTS, partner_id, client_id)
        return Team(
            rows.team_of(conn, partner_id, client_id),
            rows.business_users_of(conn, partner_id, client_id),
        )


def team_candidates(
    app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> list[User]:
    """The partner-space users who could join a client's team (not yet on it)."""
    require(actor, Action.MANAGE_TEAM, partner_id)
    with reading(app.engine) as conn:
        rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_TEAM, partner_id, client_id)
        members = {user.id for user, _access in rows.team_of(conn, partner_id, client_id)}
        everyone = rows.list_users(conn, partner_id)
    return sorted(
        (u for u in everyone if not u.is_business and u.id not in members),
        key=lambda u: (u.name.lower(), u.id),
    )
