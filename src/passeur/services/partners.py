"""Partners (tenants), their users, and which clients each user may see."""

from __future__ import annotations

from argon2 import PasswordHasher

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.fields import Field, FieldKind
from passeur.domain.partners import Access, Partner, Role, User
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import partners as rows

_EMAIL = Field("email", "E-mail", FieldKind.EMAIL, required=True)


def create_partner(app: App, name: str) -> Partner:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a partner needs a name of 1 to 200 characters")
    with transaction(app.engine) as conn:
        return rows.add_partner(conn, name)


def list_partners(app: App) -> list[Partner]:
    with reading(app.engine) as conn:
        return rows.list_partners(conn)


def the_only_partner(app: App) -> Partner:
    """For the CLI on a one-firm installation: the partner, when there is exactly one."""
    found = list_partners(app)
    if len(found) != 1:
        raise InvalidInput(f"there are {len(found)} partners; say which one with --partner")
    return found[0]


def add_user(
    app: App, partner_id: int, email: str, name: str, roles: set[Role], password: str = ""
) -> User:
    email = _EMAIL.clean(email)
    if not roles:
        raise InvalidInput("a user needs at least one role")
    hashed = PasswordHasher().hash(password) if password else ""
    with transaction(app.engine) as conn:
        rows.get_partner(conn, partner_id)
        if any(u.email.lower() == email.lower() for u in rows.list_users(conn, partner_id)):
            raise Conflict(f"a user with e-mail {email} already exists")
        return rows.add_user(conn, partner_id, email, name.strip() or email, roles, hashed)


def assign(app: App, partner_id: int, user_id: int, client_id: int, access: Access) -> None:
    """Give a user access to one client (a new user sees nothing until assigned)."""
    with transaction(app.engine) as conn:
        rows.get_user(conn, partner_id, user_id)
        rows.get_client(conn, partner_id, client_id)
        rows.assign(conn, user_id, client_id, access)
